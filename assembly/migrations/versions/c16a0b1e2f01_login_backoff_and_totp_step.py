"""login back-off per name and address; the last TOTP step used per account; rate-limit rows
that expire with their window; the keyed audit chain's first keyed event (issue 16)

Events already in the chain keep their plain SHA-256: `keyed_from_id` is set past the newest of
them, and `helpline audit verify` checks those with SHA-256 and says how many there were.

Revision ID: c16a0b1e2f01
Revises: 19b4d6f8a0c2
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "c16a0b1e2f01"
down_revision: str | None = "19b4d6f8a0c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_backoff",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_login_backoff")),
    )
    with op.batch_alter_table("login_backoff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_backoff_updated_at"), ["updated_at"], unique=False
        )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    # Existing rows get 0: already over, so the next new window deletes them.
    with op.batch_alter_table("rate_limit_hits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            batch_op.f("ix_rate_limit_hits_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keyed_from_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_head SET keyed_from_id = COALESCE(last_event_id, 0) + 1")


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from_id")
    with op.batch_alter_table("rate_limit_hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_hits_expires_at"))
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
    with op.batch_alter_table("login_backoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_backoff_updated_at"))
    op.drop_table("login_backoff")

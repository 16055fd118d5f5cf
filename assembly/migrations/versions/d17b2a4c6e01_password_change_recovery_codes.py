"""staff must set their own password after an administrator chose one; recovery codes
(issue 17)

Accounts that exist already keep their passwords (they are not made to change them).

Revision ID: d17b2a4c6e01
Revises: c4a91e2f7b10
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "d17b2a4c6e01"
down_revision: str | None = "c4a91e2f7b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "password_must_change",
                sa.Boolean(),
                nullable=False,
                server_default=sa.text("false"),
            )
        )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_recovery_codes_staff_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
    )
    with op.batch_alter_table("staff_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_recovery_codes_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_recovery_codes_staff_id"))
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("password_must_change")

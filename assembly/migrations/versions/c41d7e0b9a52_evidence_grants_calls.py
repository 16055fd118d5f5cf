"""issue 14 (h14b): report entry time, the operator who logged a call, four-eyes role grants

Revision ID: c41d7e0b9a52
Revises: c16a0b1e2f01
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "c41d7e0b9a52"
down_revision: str | None = "c16a0b1e2f01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("statutory_reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recorded_at", helpline.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logged_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_logged_by_id"), ["logged_by_id"], unique=False)
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_role_grants_staff_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["staff_users.id"],
            name=op.f("fk_role_grants_requested_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_role_grants_decided_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
    )
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_grants_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_grants_staff_id"))
    op.drop_table("role_grants")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_logged_by_id"))
        batch_op.drop_column("logged_by_id")
    with op.batch_alter_table("statutory_reports", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")

"""alert delivery: profiles (channel order), delivery rank, chain incident flag (issue 13)

Revision ID: c13a0d3f5e21
Revises: 19a7c3e5b2d1
Create Date: 2026-12-07 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "c13a0d3f5e21"
down_revision: str | None = "19a7c3e5b2d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_profiles",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_alert_profiles_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_alert_profiles")),
    )
    with op.batch_alter_table("escalation_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("all_channels", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_escalation_deliveries_state", ["state"], unique=False)
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incident_since", helpline.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("incident_since")
    with op.batch_alter_table("escalation_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_deliveries_state")
        batch_op.drop_column("all_channels")
        batch_op.drop_column("rank")
    op.drop_table("alert_profiles")

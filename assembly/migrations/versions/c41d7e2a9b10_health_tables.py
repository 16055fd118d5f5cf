"""health tables: worker heartbeats and each notifier kind's last result (/readyz)

Revision ID: c41d7e2a9b10
Revises: c13a0d3f5e21
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "c41d7e2a9b10"
down_revision: str | None = "c13a0d3f5e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("started_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )
    op.create_table(
        "notifier_status",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ok_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_notifier_status")),
    )


def downgrade() -> None:
    op.drop_table("notifier_status")
    op.drop_table("worker_heartbeats")

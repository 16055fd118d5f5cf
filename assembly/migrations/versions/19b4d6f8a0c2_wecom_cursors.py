"""WeCom customer-service read cursors (issue 19)

Revision ID: 19b4d6f8a0c2
Revises: c41d7e2a9b10
Create Date: 2026-12-07 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "19b4d6f8a0c2"
down_revision: str | None = "c41d7e2a9b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_wecom_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=128), nullable=False),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_wecom_cursors")),
        sa.UniqueConstraint("open_kfid", name=op.f("uq_bot_wecom_cursors_open_kfid")),
    )


def downgrade() -> None:
    op.drop_table("bot_wecom_cursors")

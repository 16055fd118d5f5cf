"""organisations.coverage_fallback: a school's declared fallback to its district (issue 14)

Revision ID: c4a91e2f7b10
Revises: c41d7e0b9a52
Create Date: 2026-12-07 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a91e2f7b10"
down_revision: str | None = "c41d7e0b9a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("coverage_fallback", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("coverage_fallback")

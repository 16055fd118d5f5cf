"""config_stamp: one version row bumped when an administrator changes the configuration (issue 18)

Every process caches organisations, policies and targets, and reads this row once per request
to know whether its cache is still current (helpline.configcache).

Revision ID: d18a0c5e7f21
Revises: c4a91e2f7b10
Create Date: 2026-12-07 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d18a0c5e7f21"
down_revision: str | None = "c4a91e2f7b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "config_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_stamp")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("config_stamp")

"""nlu_backlog: messages analysed by the rules alone during the first start (issue 17)

While the model trains, messages are analysed by the rule safety net; each one is queued here
and analysed again by the model once it is loaded (triage/reanalysis.py).

Revision ID: e17b0a1c2d3f
Revises: d18a0c5e7f21
Create Date: 2026-12-07 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "e17b0a1c2d3f"
down_revision: str | None = "d18a0c5e7f21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nlu_backlog",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_nlu_backlog_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_nlu_backlog_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_nlu_backlog")),
    )


def downgrade() -> None:
    op.drop_table("nlu_backlog")

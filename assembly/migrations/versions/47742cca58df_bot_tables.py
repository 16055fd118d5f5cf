"""bot tables

Revision ID: 47742cca58df
Revises: 5d1c2a7e9f30
Create Date: 2026-11-22 08:46:45.793189
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "47742cca58df"
down_revision: str | None = "5d1c2a7e9f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_telegram_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("reporter_kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("new_case_pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bot_telegram_chats_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_telegram_chats")),
        sa.UniqueConstraint("chat_key", name=op.f("uq_bot_telegram_chats_chat_key")),
    )
    op.create_table(
        "bot_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bot_attachments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_bot_attachments_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_attachments")),
    )
    with op.batch_alter_table("bot_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_attachments_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_attachments_case_id"))

    op.drop_table("bot_attachments")
    op.drop_table("bot_telegram_chats")

"""WeChat chat state, replay guard, crisis screenings, SMS/voice receipts (issue 19)

Revision ID: 19a7c3e5b2d1
Revises: 47742cca58df
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "19a7c3e5b2d1"
down_revision: str | None = "47742cca58df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_wechat_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("reporter_kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("new_case_pending", sa.Boolean(), nullable=False),
        sa.Column("privacy_shown", sa.Boolean(), nullable=False),
        sa.Column("last_inbound_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bot_wechat_chats_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_wechat_chats")),
        sa.UniqueConstraint("chat_key", name=op.f("uq_bot_wechat_chats_chat_key")),
    )
    op.create_table(
        "bot_wechat_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("seen_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_wechat_seen")),
        sa.UniqueConstraint("key", name=op.f("uq_bot_wechat_seen_key")),
    )
    with op.batch_alter_table("bot_wechat_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_wechat_seen_seen_at"), ["seen_at"], unique=False)
    op.create_table(
        "bot_screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current", sa.String(length=16), nullable=True),
        sa.Column("reasked", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("started_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bot_screenings_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_screenings")),
        sa.UniqueConstraint("case_id", name=op.f("uq_bot_screenings_case_id")),
    )
    op.create_table(
        "escalation_phone_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_phone_receipts")),
    )
    with op.batch_alter_table("escalation_phone_receipts", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_phone_receipts_ref", ["provider", "ref"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_escalation_phone_receipts_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_phone_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_phone_receipts_delivery_id"))
        batch_op.drop_index("ix_escalation_phone_receipts_ref")
    op.drop_table("escalation_phone_receipts")
    op.drop_table("bot_screenings")
    with op.batch_alter_table("bot_wechat_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_wechat_seen_seen_at"))
    op.drop_table("bot_wechat_seen")
    op.drop_table("bot_wechat_chats")

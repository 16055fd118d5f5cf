"""registers tables

Revision ID: 5d1c2a7e9f30
Revises: 0e0fe4725d9e
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpline.db

revision: str = "5d1c2a7e9f30"
down_revision: str | None = "0e0fe4725d9e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bullying_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=True),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("bullying_type", sa.String(length=32), nullable=True),
        sa.Column("investigation", sa.String(length=32), nullable=False),
        sa.Column("investigated_on", sa.Date(), nullable=True),
        sa.Column("determination", sa.String(length=32), nullable=False),
        sa.Column("determined_on", sa.Date(), nullable=True),
        sa.Column("handling", sa.JSON(), nullable=False),
        sa.Column("follow_up", sa.String(length=32), nullable=True),
        sa.Column("followed_up_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bullying_records_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bullying_records_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staff_users.id"],
            name=op.f("fk_bullying_records_updated_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bullying_records")),
        sa.UniqueConstraint("case_id", name=op.f("uq_bullying_records_case_id")),
    )
    with op.batch_alter_table("bullying_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bullying_records_org_id"), ["org_id"], unique=False)
    op.create_table(
        "register_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("created_at", helpline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sent_at", helpline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_register_sends_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_sends")),
        sa.UniqueConstraint("org_id", "month", "day", name="uq_register_sends_slot"),
    )


def downgrade() -> None:
    op.drop_table("register_sends")
    with op.batch_alter_table("bullying_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bullying_records_org_id"))
    op.drop_table("bullying_records")

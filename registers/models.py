"""Tables owned by the registers (bullying register, scheduled statistics).

The register's structured fields are codes from data/registers/registers.yaml, so an export
carries no free text; the one free-text note (which could name someone) is EncryptedText and
is shown only in the console, never exported.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import EncryptedText
from helpline.db import Base, UTCDateTime, utcnow


class BullyingRecord(Base):
    """One row of the bullying register (学生欺凌化解处置工作一张表) per bullying case."""

    __tablename__ = "bullying_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    incident_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bullying_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    investigation: Mapped[str] = mapped_column(String(32), nullable=False, default="received")
    investigated_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    determination: Mapped[str] = mapped_column(String(32), nullable=False, default="pending")
    determined_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    handling: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    follow_up: Mapped[str | None] = mapped_column(String(32), nullable=True)
    followed_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(EncryptedText("bullying_records.note"), nullable=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SendState(enum.StrEnum):
    """A scheduled delivery of the statistics (the `state` column of register_sends)."""

    sending = "sending"  # claimed by a process (a claim this old was cut off by a crash)
    sent = "sent"


class ScheduledSend(Base):
    """One scheduled delivery of the statistics: at most one per (organisation, month, day)."""

    __tablename__ = "register_sends"
    __table_args__ = (UniqueConstraint("org_id", "month", "day", name="uq_register_sends_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # YYYY-MM (local time)
    day: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=SendState.sending)
    files: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

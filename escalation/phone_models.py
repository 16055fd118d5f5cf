"""What the SMS and voice clouds accepted, and what their receipts said (no phone numbers)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db import Base, UTCDateTime, utcnow


class ReceiptState(enum.StrEnum):
    """What a cloud said of one SMS or call (the `state` column of PhoneReceipt)."""

    accepted = "accepted"  # the cloud took it; no receipt yet
    delivered = "delivered"  # SMS
    answered = "answered"  # call
    unanswered = "unanswered"  # call
    failed = "failed"  # SMS or call
    acknowledged = "acknowledged"  # the person pressed the key of a call


class PhoneReceipt(Base):
    """One SMS or call a cloud accepted for an alert (`delivery_id`), by the cloud's id
    (`ref`: Alibaba BizId / CallId, Tencent SerialNo / CallId). `state`: accepted, then
    delivered or failed (SMS), answered, unanswered or failed (call), acknowledged (a key)."""

    __tablename__ = "escalation_phone_receipts"
    __table_args__ = (Index("ix_escalation_phone_receipts_ref", "provider", "ref", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    ref: Mapped[str] = mapped_column(String(128), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ReceiptState.accepted)
    detail: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

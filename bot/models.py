"""Tables owned by the intake channels: Telegram chat state and encrypted attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import EncryptedText
from helpline.db import Base, UTCDateTime, utcnow


class TelegramChat(Base):
    """What the bot remembers about one private chat (keyed by a keyed hash, never the id)."""

    __tablename__ = "bot_telegram_chats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    reporter_kind: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    new_case_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Attachment(Base):
    """A photo, voice note or file sent with a case; the content is AES-GCM encrypted (base64)."""

    __tablename__ = "bot_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    mime_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str] = mapped_column(EncryptedText("bot_attachments.content"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

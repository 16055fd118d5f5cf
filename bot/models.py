"""Tables owned by the intake channels: Telegram and WeChat chat state, encrypted
attachments, replay guards and crisis screenings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import EncryptedText
from helpline.db import Base, UTCDateTime, utcnow


class ScreeningState(enum.StrEnum):
    """A crisis screening's life (the `state` column of bot_screenings)."""

    active = "active"  # a question is open
    paused = "paused"  # the child wrote something else; the screening waits
    stopped = "stopped"  # the child asked to stop
    done = "done"  # every question needed was answered


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


class WeChatChat(Base):
    """What the WeChat channel remembers about one follower (keyed by a keyed hash of the
    openid, never the openid itself); `last_inbound_at` bounds the 48-hour reply window."""

    __tablename__ = "bot_wechat_chats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    reporter_kind: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    new_case_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    privacy_shown: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WeChatSeen(Base):
    """Keyed hashes of WeChat message ids and of (timestamp, nonce) pairs already taken:
    a replayed or retried push is recognised without keeping the ids themselves."""

    __tablename__ = "bot_wechat_seen"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    seen_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, index=True
    )


class Screening(Base):
    """A crisis screening conversation (C-SSRS screener) in one case; the answers are
    AES-GCM encrypted (a JSON object of question id -> yes / no / skipped)."""

    __tablename__ = "bot_screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, unique=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ScreeningState.active)
    current: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reasked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    answers: Mapped[str] = mapped_column(EncryptedText("bot_screenings.answers"))
    risk: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WeComCursor(Base):
    """Where reading a WeCom customer-service account's messages (kf/sync_msg) goes on."""

    __tablename__ = "bot_wecom_cursors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    open_kfid: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    cursor: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

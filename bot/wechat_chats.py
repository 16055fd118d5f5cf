"""What the WeChat channel remembers per follower, and which pushes it has already taken."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import WeChatChat, WeChatSeen
from helpline.crypto import get_keyring
from helpline.db import utcnow

# WeChat lets the customer-service API write to a follower for 48 hours after their message.
REPLY_WINDOW = timedelta(hours=48)


def chat_key(openid: str) -> str:
    """A keyed hash of the openid: the table never holds the openid itself."""
    return get_keyring().keyed_hash("wechat-chat", openid)[:64]


def seen_key(kind: str, value: str) -> str:
    return get_keyring().keyed_hash(f"wechat-{kind}", value)[:64]


def message_key(openid: str, msg_id: int | str) -> str:
    """The external id of a WeChat message (MsgId, per follower)."""
    return get_keyring().keyed_hash("wechat-message", f"{openid}:{msg_id}")[:64]


async def chat_state(session: AsyncSession, openid: str) -> WeChatChat:
    key = chat_key(openid)
    chat = (
        await session.execute(select(WeChatChat).where(WeChatChat.chat_key == key))
    ).scalar_one_or_none()
    if chat is None:
        chat = WeChatChat(
            chat_key=key, reporter_kind="unknown", new_case_pending=False, privacy_shown=False
        )
        session.add(chat)
        await session.flush()
    return chat


def touch(chat: WeChatChat, inbound: bool = False) -> None:
    chat.updated_at = utcnow()
    if inbound:
        chat.last_inbound_at = chat.updated_at


def in_window(chat: WeChatChat | None, now: datetime | None = None) -> bool:
    if chat is None or chat.last_inbound_at is None:
        return False
    return (now or utcnow()) - chat.last_inbound_at < REPLY_WINDOW


async def seen_before(session: AsyncSession, key: str) -> bool:
    found = await session.execute(select(WeChatSeen.id).where(WeChatSeen.key == key))
    return found.scalar_one_or_none() is not None


def remember(session: AsyncSession, key: str) -> None:
    session.add(WeChatSeen(key=key, seen_at=utcnow()))


async def forget_older_than(session: AsyncSession, age: timedelta) -> int:
    """Old keys are not needed: a push that old fails the timestamp check anyway."""
    result = await session.execute(delete(WeChatSeen).where(WeChatSeen.seen_at < utcnow() - age))
    return int(getattr(result, "rowcount", 0) or 0)

"""What the bot remembers per Telegram chat (reporter kind, current case, /new pending)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import TelegramChat
from helpline.crypto import get_keyring
from helpline.db import utcnow


def chat_key(chat_id: int | str) -> str:
    """A keyed hash of the chat id: the table never holds the id itself."""
    return get_keyring().keyed_hash("telegram-chat", str(chat_id))[:64]


def message_key(chat_id: int | str, message_id: int) -> str:
    """The external id of a Telegram message (message ids are only unique within a chat)."""
    return get_keyring().keyed_hash("telegram-message", f"{chat_id}:{message_id}")[:64]


async def chat_state(session: AsyncSession, chat_id: int | str) -> TelegramChat:
    key = chat_key(chat_id)
    chat = (
        await session.execute(select(TelegramChat).where(TelegramChat.chat_key == key))
    ).scalar_one_or_none()
    if chat is None:
        chat = TelegramChat(chat_key=key, reporter_kind="unknown", new_case_pending=False)
        session.add(chat)
        await session.flush()
    return chat


def touch(chat: TelegramChat) -> None:
    chat.updated_at = utcnow()

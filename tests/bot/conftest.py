"""Fixtures for the intake tests: the Bot API stand-in and the real bot running against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from tests.support.telegram import TelegramStandin

WEBHOOK_SECRET = "test-webhook-secret-1234"


@pytest.fixture
def standin() -> Iterator[TelegramStandin]:
    with TelegramStandin() as api:
        yield api


class RunningBot:
    def __init__(self, api: TelegramStandin, task: asyncio.Task[None], stop: asyncio.Event):
        self.api, self.task, self.stop = api, task, stop

    async def wait_for(self, method: str, chat_id: int | None = None, **kw: Any) -> list[Any]:
        return await asyncio.to_thread(self.api.wait_for, method, chat_id, **kw)

    async def say(
        self, chat_id: int, text: str, update: dict[str, Any] | None = None, **kw: Any
    ) -> str:
        """Send a text (or a prepared update) as the reporter; return the bot's next answer."""
        before = len(self.api.calls("sendMessage", chat_id))
        self.api.push_update(update or self.api.text_update(chat_id, text, **kw))
        calls = await self.wait_for("sendMessage", chat_id, count=before + 1)
        return calls[before].text


async def _start_bot(
    api: TelegramStandin, monkeypatch: pytest.MonkeyPatch, mode: str
) -> RunningBot:
    from bot import telegram_service
    from helpline.settings import reset_settings

    monkeypatch.setenv("HELPLINE_TELEGRAM_TOKEN", api.token)
    monkeypatch.setenv("HELPLINE_TELEGRAM_BASE_URL", api.base_url)
    monkeypatch.setenv("HELPLINE_TELEGRAM_MODE", mode)
    monkeypatch.setenv("HELPLINE_TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    reset_settings()
    stop = asyncio.Event()
    task = asyncio.create_task(telegram_service.run_telegram(stop=stop))
    for _ in range(500):
        if telegram_service.current_application() is not None or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
    assert telegram_service.current_application() is not None
    return RunningBot(api, task, stop)


async def _stop_bot(bot: RunningBot) -> None:
    from helpline.settings import reset_settings

    bot.stop.set()
    await asyncio.wait_for(bot.task, 30)
    reset_settings()


@pytest_asyncio.fixture
async def polling_bot(
    app: object, standin: TelegramStandin, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    """The real bot (python-telegram-bot) polling the stand-in, on the test's database."""
    bot = await _start_bot(standin, monkeypatch, "polling")
    try:
        yield bot
    finally:
        await _stop_bot(bot)


@pytest_asyncio.fixture
async def webhook_bot(
    app: object, standin: TelegramStandin, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    """The real bot in webhook mode: updates are posted to /telegram/webhook of the app."""
    bot = await _start_bot(standin, monkeypatch, "webhook")
    try:
        yield bot
    finally:
        await _stop_bot(bot)


async def counts() -> dict[str, int]:
    """Rows that a message would write: nothing may appear half-written."""
    from bot.models import Attachment
    from helpline.db import session_scope
    from triage.models import Case, Message, Reporter

    async with session_scope() as s:
        return {
            model.__name__: (await s.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Case, Message, Reporter, Attachment)
        }

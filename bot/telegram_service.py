"""The running Telegram bot: built from settings, polling (development) or webhook (production).

`run_telegram` is the background service the assembly starts when a token is configured. The
application it runs is published in `current_application()` so the webhook route can hand
updates to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

import nlu
from bot.delivery import delivery_loop
from bot.telegram_handlers import add_handlers
from helpline.settings import Settings, get_settings

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
_current: Application[Any, Any, Any, Any, Any, Any] | None = None


class PerChatProcessor(BaseUpdateProcessor):
    """Many chats at once, but one update at a time per chat (keeps each chat's order, and
    two quick messages never race to open two cases)."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def file_url(base_url: str) -> str:
    """Telegram serves files under /file/bot<token>; follow the configured API address."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return "https://api.telegram.org/file/bot"


def build_application(token: str, base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .concurrent_updates(PerChatProcessor())
        .connection_pool_size(64)
        .build()
    )
    add_handlers(app)
    return app


def current_application() -> Application[Any, Any, Any, Any, Any, Any] | None:
    return _current


def publish(app: Application[Any, Any, Any, Any, Any, Any] | None) -> None:
    global _current
    _current = app


async def run_telegram(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Run the bot until cancelled (or `stop` is set)."""
    settings = settings or get_settings()
    if settings.telegram_token is None:
        raise RuntimeError("HELPLINE_TELEGRAM_TOKEN is not set")
    app = build_application(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
    # Load the model now: the first reporter must not wait for it.
    await asyncio.to_thread(nlu.default_pipeline)
    async with app:
        await app.start()
        await _connect(app, settings)
        publish(app)
        delivery = asyncio.create_task(delivery_loop(app.bot))
        log.info("telegram bot running", extra={"mode": settings.telegram_mode})
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            publish(None)
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.stop()


async def _connect(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    if settings.telegram_mode == "webhook":
        if settings.telegram_webhook_secret is None:
            raise RuntimeError("webhook mode needs HELPLINE_TELEGRAM_WEBHOOK_SECRET")
        await app.bot.set_webhook(
            url=settings.public_url.rstrip("/") + WEBHOOK_PATH,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
        return
    assert app.updater is not None
    await app.bot.delete_webhook()
    await app.updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES)

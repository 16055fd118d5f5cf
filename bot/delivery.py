"""Counsellors' replies reach reporters: drain triage's outbox for the Telegram channel.

A reply written while the bot is down stays in the outbox and goes out when it is back
(at-least-once: if the process dies between sending and committing, the reply is sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import texts
from helpline.db import session_scope
from triage.outbox import mark_delivered, mark_reporter_unreachable, pending

log = logging.getLogger(__name__)
BATCH = 20
TELEGRAM_MAX_CHARS = 4096


def chunks(text: str, size: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """Telegram refuses longer messages: split, preferring line ends."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text]


class Waker:
    """Wakes the delivery loop when triage queues a reply (hooks.reply_queued)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def attach(self) -> asyncio.Event:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        return self.event

    def detach(self) -> None:
        self.loop = self.event = None

    def wake(self) -> None:
        if self.loop is not None and self.event is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.event.set)


waker = Waker()


async def deliver_once(bot: Bot) -> int:
    """Send one batch of pending replies; returns how many were delivered."""
    delivered = 0
    async with session_scope() as session:
        for reply in await pending(session, "telegram", limit=BATCH):
            if not reply.chat_id:
                await mark_reporter_unreachable(session, reply.case_id)
                continue
            try:
                for part in chunks(texts.text("counsellor_reply", text=reply.text)):
                    await bot.send_message(reply.chat_id, part)
            except (Forbidden, BadRequest):
                # Blocked, deleted or unknown chat: stop trying this reporter; others go on.
                log.info("reply undeliverable", extra={"case_id": reply.case_id})
                await mark_reporter_unreachable(session, reply.case_id)
                continue
            except TelegramError as exc:
                # Network trouble or Telegram down: keep the rest for the next round.
                log.warning("reply delivery paused", extra={"error": type(exc).__name__})
                break
            await mark_delivered(session, reply.message_id)
            delivered += 1
    return delivered


async def delivery_loop(bot: Bot, interval: float = 5.0) -> None:
    """Deliver when woken (a reply was queued) and every `interval` seconds in any case."""
    await drain_loop(waker, lambda: deliver_once(bot), BATCH, interval)


async def drain_loop(
    waker: Waker,
    deliver: Callable[[], Awaitable[int]],
    batch: int,
    interval: float,
) -> None:
    """Run `deliver` until a round is not full, then wait to be woken or for `interval`."""
    event = waker.attach()
    try:
        while True:
            try:
                while await deliver() == batch:
                    pass
            except Exception as exc:  # the loop must survive a database hiccup
                log.error("delivery round failed", extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=interval)
            if event.is_set():
                event.clear()
                # The reply is queued inside the console's transaction: let it commit first.
                await asyncio.sleep(0.2)
    finally:
        waker.detach()

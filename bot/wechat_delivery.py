"""Counsellors' replies reach WeChat users: drain triage's outbox for the Official Account
(`wechat`) and WeCom customer service (`wecom`).

WeChat's customer-service API may write to a follower only within 48 hours of their last
message: a reply to someone who has been silent longer stays in the outbox (it is on the
follow-up record) and goes out as soon as they write again (their push wakes this loop).
At-least-once, like the Telegram delivery.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import select

from bot import texts, wechat_api, wecom_api
from bot import wechat_chats as chats
from bot.delivery import Waker, drain_loop
from bot.models import WeChatChat
from helpline.db import session_scope
from triage.outbox import mark_delivered, mark_reporter_unreachable, pending

log = logging.getLogger(__name__)
BATCH = 20
SCAN = 200  # replies looked at per round, so that some outside the window do not block others
SEEN_KEPT = timedelta(days=4)  # WeCom's sync_msg returns up to 3 days of messages
CHANNELS = ("wechat", "wecom")
waker = Waker()


def _recipient(channel: str, chat_id: str) -> tuple[str, Any]:
    """The chat key and the sender of a reply on `channel` ("wechat" or "wecom")."""
    if channel == "wecom":
        open_kfid, _, user = chat_id.partition("|")
        return f"wecom:{user}", partial(wecom_api.send_text, open_kfid, user)
    return chat_id, partial(wechat_api.send_text, chat_id)


async def deliver_once() -> int:
    """Send one batch of pending replies that are inside their window; returns how many."""
    delivered = 0
    async with session_scope() as session:
        for channel in CHANNELS:
            for reply in await pending(session, channel, limit=SCAN):
                if delivered >= BATCH:
                    break
                if not reply.chat_id:
                    await mark_reporter_unreachable(session, reply.case_id)
                    continue
                key, send = _recipient(channel, reply.chat_id)
                chat = (
                    await session.execute(
                        select(WeChatChat).where(WeChatChat.chat_key == chats.chat_key(key))
                    )
                ).scalar_one_or_none()
                if not chats.in_window(chat):
                    continue  # goes out when the follower writes again
                try:
                    await send(texts.text("counsellor_reply", text=reply.text))
                except wechat_api.WeChatError as exc:
                    if exc.unreachable:
                        log.info("wechat reply waits for the follower", extra={"error": str(exc)})
                        continue
                    log.warning("wechat reply delivery paused", extra={"error": str(exc)})
                    break
                await mark_delivered(session, reply.message_id)
                delivered += 1
        await chats.forget_older_than(session, SEEN_KEPT)
    return delivered


async def delivery_loop(interval: float = 5.0) -> None:
    """Deliver when woken (a reply was queued, a follower wrote) and every `interval` s."""
    await drain_loop(waker, deliver_once, BATCH, interval)


async def run_wechat() -> None:
    """The background service of the web app when the WeChat channel is configured."""
    from bot.plugin import warm_up

    await warm_up()
    await delivery_loop()

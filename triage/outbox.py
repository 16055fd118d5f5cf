"""Replies to reporters waiting to be delivered through their channel.

An outgoing message is a Message row with direction "out" and no delivered_at: the channel that
can deliver it (the Telegram bot) drains this outbox, so a reply written while the bot is down
is sent when it comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.db import utcnow
from triage.hooks import notify_reply_queued
from triage.models import Case, Message, Reporter


@dataclass(frozen=True)
class PendingReply:
    message_id: int
    case_id: int
    chat_id: str | None
    text: str


async def queue_reply(
    session: AsyncSession, case: Case, author_id: int | None, text: str
) -> Message:
    """Store a reply to the reporter (shown on the follow-up page, sent by the bot)."""
    now = utcnow()
    message = Message(
        case_id=case.id,
        direction="out",
        channel=case.channel,
        kind="text",
        text=text,
        author_id=author_id,
        created_at=now,
    )
    session.add(message)
    if case.first_response_at is None:
        case.first_response_at = now
    case.last_activity_at = now
    await session.flush()
    await audit.record(
        session,
        f"staff:{author_id}" if author_id else "system",
        "case.replied",
        "case",
        case.id,
        message_id=message.id,
    )
    notify_reply_queued()
    return message


async def pending(session: AsyncSession, channel: str, limit: int = 50) -> list[PendingReply]:
    """Undelivered replies on `channel`, oldest first, locked against other deliverers."""
    rows = (
        await session.execute(
            select(Message, Reporter.chat_id)
            .join(Case, Case.id == Message.case_id)
            .join(Reporter, Reporter.id == Case.reporter_id)
            .where(
                Message.direction == "out",
                Message.channel == channel,
                Message.delivered_at.is_(None),
                Reporter.blocked.is_(False),
            )
            .order_by(Message.id)
            .limit(limit)
            .with_for_update(of=Message, skip_locked=True)
        )
    ).all()
    return [PendingReply(m.id, m.case_id, chat_id, m.text or "") for m, chat_id in rows]


async def mark_delivered(session: AsyncSession, message_id: int) -> None:
    message = await session.get(Message, message_id)
    if message is not None and message.delivered_at is None:
        message.delivered_at = utcnow()


async def mark_reporter_unreachable(session: AsyncSession, case_id: int) -> None:
    """The reporter blocked the bot or deleted the chat: stop trying, keep the case."""
    case = await session.get(Case, case_id)
    if case is not None:
        reporter = await session.get(Reporter, case.reporter_id)
        if reporter is not None:
            reporter.blocked = True
        await audit.record(session, "system", "reporter.unreachable", "case", case_id)

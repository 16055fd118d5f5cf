"""Scheduled delivery of the statistics on configured days of the month (defaults 13, 24, 28).

On such a day (from the configured hour, local time) each organisation's files for the month so
far are generated and kept under var/reports/, and a notice goes to its contacts through
escalation's notifiers. The notice carries no personal data: the organisation, the month and a
link to the files, which needs a login. A row per (organisation, month, day) makes this
idempotent across restarts and across several processes (a unique constraint decides who sends).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import AlertChannel
from escalation.notifier import Notice, NoticeKind, NotifyError
from helpline import audit
from helpline.db import session_scope, utcnow
from helpline.settings import get_settings
from registers import bundle
from registers.config import local_zone, settings
from registers.models import ScheduledSend, SendState
from triage import read
from triage.read import OrgLike

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Address = tuple[str, str | None]
Sender = Callable[[str, Address, Notice], Awaitable[None]]
STALE_CLAIM = timedelta(minutes=30)  # a claim left "sending" this long was cut off by a crash


def statistics_notice(org: OrgLike, month: str, day: int) -> Notice:
    """The notice that a month's statistics are ready: the organisation, the month, the day and
    a link that needs a login (words: data/registers `delivery.notice`). No figures, no names
    of children; not an alert (no alert id, nothing to acknowledge)."""
    words = settings()["delivery"]["notice"]
    link = f"{get_settings().public_url}/console/statistics?month={month}&org={org.code}"
    fields = {"org": org.name, "month": month, "day": day, "link": link}
    return Notice(
        kind=NoticeKind.statistics,
        subject=str(words["title"]).format(**fields),
        body=tuple(str(line).format(**fields) for line in words["lines"]),
        fields=fields,
    )


def delivery_folder(org_code: str, month: str, day: int) -> Path:
    return get_settings().var_dir / "reports" / org_code / month / f"{day:02d}"


def due_slot(now: datetime) -> tuple[str, int] | None:
    """The latest configured day of this month that has been reached, as (YYYY-MM, day)."""
    conf = settings()["delivery"]
    local = now.astimezone(local_zone())
    reached = [
        day
        for day in sorted(int(d) for d in conf["days"])
        if day < local.day or (day == local.day and local.hour >= int(conf["hour"]))
    ]
    return (local.strftime("%Y-%m"), reached[-1]) if reached else None


async def _claim(org_id: int, month: str, day: int, now: datetime) -> int | None:
    """Take the (org, month, day) slot; None when another process has it or it was sent."""
    try:
        async with session_scope() as session:
            send = ScheduledSend(org_id=org_id, month=month, day=day, created_at=now)
            session.add(send)
            await session.flush()
            return send.id
    except IntegrityError:
        pass
    async with session_scope() as session:
        retaken = await session.execute(
            update(ScheduledSend)
            .where(
                ScheduledSend.org_id == org_id,
                ScheduledSend.month == month,
                ScheduledSend.day == day,
                ScheduledSend.state == SendState.sending,
                ScheduledSend.created_at < now - STALE_CLAIM,
            )
            .values(created_at=now)
            .returning(ScheduledSend.id)
        )
        return retaken.scalar_one_or_none()


async def recipients(session: AsyncSession, org_id: int) -> list[tuple[str, Address]]:
    """The organisation's contacts: staff in the configured roles, and its alert channels."""
    conf = settings()["delivery"]
    emails = await read.staff_emails(session, org_id, conf["recipient_roles"])
    out: list[tuple[str, Address]] = [("email", (email, None)) for email in emails]
    if conf.get("alert_channels"):
        channels = await session.execute(
            select(AlertChannel).where(AlertChannel.org_id == org_id, AlertChannel.active.is_(True))
        )
        out += [(c.kind, (c.target, c.secret)) for c in channels.scalars()]
    return out


async def _deliver_one(
    org: OrgLike, month: str, day: int, send_id: int, now: datetime, sender: Sender
) -> None:
    async with session_scope() as session:
        files = await bundle.build(session, org, month, now)
        bundle.write(files, delivery_folder(org.code, month, day))
        contacts = await recipients(session, org.id)
    notice = statistics_notice(org, month, day)
    failures = 0
    for channel, address in contacts:
        try:
            await sender(channel, address, notice)
        except NotifyError as exc:
            failures += 1
            log.warning("statistics notice failed", extra={"send_id": send_id, "error": str(exc)})
    async with session_scope() as session:
        send = await session.get(ScheduledSend, send_id)
        assert send is not None
        send.state, send.sent_at = SendState.sent, now
        send.files, send.recipients, send.failures = sorted(files), len(contacts), failures
        await audit.record(
            session,
            "system",
            "statistics.delivered",
            "organisation",
            org.id,
            send_id=send_id,
            month=month,
            day=day,
            recipients=len(contacts),
            failures=failures,
        )


async def run_due(now: datetime, sender: Sender | None = None) -> list[int]:
    """Deliver every organisation's statistics for the slot due at `now`; the send ids made."""
    slot = due_slot(now)
    if slot is None:
        return []
    if sender is None:
        from escalation.delivery import send as sender
    month, day = slot
    async with session_scope() as session:
        orgs = await read.all_orgs(session)
    made = []
    for org in orgs:
        send_id = await _claim(org.id, month, day, now)
        if send_id is None:
            continue
        await _deliver_one(org, month, day, send_id, now, sender)
        made.append(send_id)
    return made


async def serve(
    clock: Clock = utcnow, stop: asyncio.Event | None = None, delay: float | None = None
) -> None:
    """The loop inside `helpline serve`: check every poll interval; failures never end it.

    The first check waits `delivery.startup_delay_seconds`, so that a starting service (or
    several workers deployed at once) settles before generating files.
    """
    stop = stop or asyncio.Event()
    conf = settings()["delivery"]
    wait = float(conf["startup_delay_seconds"]) if delay is None else delay
    poll = float(conf["poll_seconds"])
    while not await _stopped(stop, wait):
        try:
            await run_due(clock())
        except Exception as exc:  # the database or a notifier may be briefly away
            log.error("scheduled statistics failed", extra={"error": type(exc).__name__})
        wait = poll


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True when `stop` was set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def background_service() -> None:
    await serve()

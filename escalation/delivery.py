"""Alert deliveries in batches: prepared in the claim's transaction, sent outside any
transaction, their results recorded together (a retry with backoff, or the chain moves on)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, health, notifier, notifiers, outcomes
from escalation.config import label_words, settings
from escalation.models import (
    AlertChannel,
    AlertProfile,
    Delivery,
    Escalation,
    StatutoryReport,
    Timer,
)
from helpline.db import session_scope
from helpline.localtime import local_time
from helpline.settings import get_settings
from triage.models import Case, StaffUser

log = logging.getLogger(__name__)
Address = tuple[str, str | None]


@dataclass
class Job:
    timer_id: int
    runs: int
    delivery_id: int
    channel: str
    address: Address | None
    info: notifiers.AlertInfo
    staff_id: int | None = None
    error: str | None = None
    ambiguous: bool = False
    sent_at: datetime | None = None


@dataclass
class _Batch:
    """What several deliveries of one batch share: the case's alert fields, addresses."""

    cases: dict[int, dict[str, str]] = field(default_factory=dict)
    addresses: dict[tuple[str, int], Address | None] = field(default_factory=dict)


async def case_fields(session: AsyncSession, case_id: int) -> dict[str, str]:
    """Case number, category, urgency, nearest deadline, link. No text, no names."""
    case = await session.get(Case, case_id)
    assert case is not None
    words, conf = label_words(), get_settings()
    harm = [label for label in case.labels if label != "general"] or list(case.labels)
    category = (
        settings()["alert"]["restricted_category"]
        if case.restricted
        else "、".join(words.get(label, label) for label in harm)
    )
    due = (
        await session.execute(
            select(StatutoryReport.due_at)
            .where(StatutoryReport.case_id == case.id, StatutoryReport.state == "due")
            .order_by(StatutoryReport.due_at)
            .limit(1)
        )
    ).scalar_one_or_none() or case.first_response_due
    return {
        "number": case.number,
        "category": category,
        "urgency": words.get(case.urgency, case.urgency),
        "deadline": local_time(due),
        "link": f"{conf.public_url.rstrip('/')}/console/cases/{case.id}",
    }


async def alert_info(
    session: AsyncSession, delivery: Delivery, batch: _Batch | None = None
) -> notifiers.AlertInfo:
    batch = batch or _Batch()
    if delivery.case_id not in batch.cases:
        batch.cases[delivery.case_id] = await case_fields(session, delivery.case_id)
    base = get_settings().public_url.rstrip("/")
    return notifiers.AlertInfo(
        alert_id=delivery.id,
        **batch.cases[delivery.case_id],
        ack_link=f"{base}/escalation/ack/{ack.link_token(delivery.id, delivery.created_at)}",
        callback_data=ack.callback_data(delivery.id),
        reack=delivery.purpose == "reack",
        possible_duplicate=delivery.possible_duplicate,
    )


async def _address(session: AsyncSession, delivery: Delivery, batch: _Batch) -> Address | None:
    if delivery.staff_id is not None:
        key = (delivery.channel, delivery.staff_id)
        if key not in batch.addresses:
            staff = await session.get(StaffUser, delivery.staff_id)
            kind = notifier.get(delivery.channel)
            value = None
            if staff is not None and kind is not None:
                value = kind.address(await contact_of(session, staff))
            batch.addresses[key] = (value, None) if value else None
        return batch.addresses[key]
    key = ("group", delivery.alert_channel_id or 0)
    if key not in batch.addresses:
        channel = await session.get(AlertChannel, delivery.alert_channel_id)
        batch.addresses[key] = (channel.target, channel.secret) if channel else None
    return batch.addresses[key]


async def contact_of(session: AsyncSession, staff: StaffUser) -> notifier.Contact:
    """A staff member's addresses for the notifiers (their own webhook from their profile)."""
    profile = await session.get(AlertProfile, staff.id)
    return notifier.Contact(
        staff_id=staff.id,
        email=staff.email,
        phone=staff.phone,
        telegram_chat_id=staff.telegram_chat_id,
        webhook=profile.webhook if profile is not None else None,
    )


async def prepare(session: AsyncSession, timers: list[Timer], now: datetime) -> list[Job]:
    """In the claim's transaction: mark each delivery `sending` (a delivery found `sending`
    was cut off by a crash: marked possible duplicate), skip those whose chain stopped."""
    if not timers:
        return []
    deliveries = {
        d.id: d
        for d in (
            await session.execute(
                select(Delivery).where(Delivery.id.in_([t.delivery_id for t in timers]))
            )
        ).scalars()
    }
    chains = {
        e.id: e.state
        for e in (
            await session.execute(
                select(Escalation).where(
                    Escalation.id.in_({d.escalation_id for d in deliveries.values()})
                )
            )
        ).scalars()
    }
    batch, jobs = _Batch(), []
    for timer in timers:
        found = deliveries.get(timer.delivery_id or 0)
        if found is None or found.state not in ("pending", "sending"):
            timer.state, timer.done_at = "done", now
            continue
        if chains.get(found.escalation_id) not in outcomes.LIVE:
            found.state = "skipped"  # acknowledged, superseded or closed meanwhile: not sent
            timer.state, timer.done_at = "done", now
            continue
        found.possible_duplicate = found.possible_duplicate or found.state == "sending"
        found.state, found.attempts = "sending", found.attempts + 1
        info = await alert_info(session, found, batch)
        address = await _address(session, found, batch)
        jobs.append(
            Job(timer.id, timer.runs, found.id, found.channel, address, info, found.staff_id)
        )
    return jobs


async def send(
    channel: str, address: Address, info: notifiers.AlertInfo, staff_id: int | None = None
) -> None:
    """Through the notifier registered for `channel` (escalation.notifier)."""
    found = notifier.get(channel)
    if found is None:
        raise notifier.NotifyError("unknown_channel")
    target, secret = address
    await found.send(notifier.Target(target, secret, staff_id), info)


async def run_job(job: Job, clock: Callable[[], datetime]) -> Job:
    """Send one alert; the outcome stays on the job (never raises for a delivery failure)."""
    try:
        if job.address is None:
            raise notifier.NotifyError("no_address")
        await send(job.channel, job.address, job.info, job.staff_id)
        job.sent_at = clock()
    except notifier.NotifyError as exc:
        job.error, job.ambiguous = str(exc), exc.ambiguous
    except Exception as exc:  # a notifier bug must not lose the batch: retried like a failure
        job.error = f"error_{type(exc).__name__}"
    return job


async def record(jobs: list[Job], clock: Callable[[], datetime]) -> None:
    """One transaction for a batch's outcomes; timers taken over by another worker are left."""
    if not jobs:
        return
    async with session_scope() as session:
        now = clock()
        timers = {
            t.id: t
            for t in (
                await session.execute(
                    select(Timer)
                    .where(Timer.id.in_([job.timer_id for job in jobs]))
                    .with_for_update()
                )
            ).scalars()
        }
        deliveries = {
            d.id: d
            for d in (
                await session.execute(
                    select(Delivery).where(Delivery.id.in_([job.delivery_id for job in jobs]))
                )
            ).scalars()
        }
        sent: list[Delivery] = []
        for job in jobs:
            timer = timers.get(job.timer_id)
            if timer is None or timer.state != "running" or timer.runs != job.runs:
                continue
            found = deliveries[job.delivery_id]
            timer.state, timer.done_at = "done", now
            if job.error is None:
                found.state, found.sent_at, found.last_error = "sent", job.sent_at, None
                sent.append(found)
            elif found.state == "sending":
                await outcomes.failed(session, timer, found, now, job.error, job.ambiguous)
            # else: cancelled or skipped while it was out (case closed, chain ended): no retry
        await outcomes.delivered(session, sent, now)
    await health.note_results(((job.channel, job.error) for job in jobs), clock())
    failed = len(jobs) - sum(1 for job in jobs if job.error is None)
    log.info("alert deliveries", extra={"sent": len(jobs) - failed, "failed": failed})

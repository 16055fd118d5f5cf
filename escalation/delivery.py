"""Alert deliveries in batches: prepared in the claim's transaction, sent outside any
transaction, their results recorded together (a retry with backoff, or the chain moves on)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, health, notifier, notifiers, outcomes
from escalation.config import label_words, settings
from escalation.models import (
    AlertChannel,
    AlertProfile,
    Delivery,
    DeliveryPurpose,
    DeliveryState,
    Escalation,
    ReportState,
    StatutoryReport,
    Timer,
)
from escalation.timers import TimerState
from helpline.datafiles import section_text
from helpline.db import get_engine, session_scope
from helpline.localtime import local_time
from helpline.settings import get_settings
from triage.models import Case, StaffUser

log = logging.getLogger(__name__)
_said = section_text("escalation", "joining")  # data/escalation/texts.yaml
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
    escalation_id: int = 0
    round: int = 0
    step: int = 0
    error: str | None = None
    ambiguous: bool = False
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Claimed:
    """A timer this worker now holds (state running, `runs` its lease's number)."""

    id: int
    kind: str
    runs: int
    delivery_id: int | None


class _Alert(Protocol):
    """What an alert's text and address are made from (a Delivery, or a row of one)."""

    id: int
    case_id: int
    channel: str
    staff_id: int | None
    alert_channel_id: int | None
    created_at: datetime
    purpose: str
    possible_duplicate: bool


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
        else _said("list").join(words.get(label, label) for label in harm)
    )
    due = (
        await session.execute(
            select(StatutoryReport.due_at)
            .where(StatutoryReport.case_id == case.id, StatutoryReport.state == ReportState.due)
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
    session: AsyncSession, delivery: _Alert, batch: _Batch | None = None
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
        reack=delivery.purpose == DeliveryPurpose.reack,
        possible_duplicate=delivery.possible_duplicate,
    )


async def _address(session: AsyncSession, delivery: _Alert, batch: _Batch) -> Address | None:
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


async def claim(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Take up to `limit` due timers (and timers whose worker's lease ran out) in one
    statement: on PostgreSQL `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`, so
    that workers sharing the table take disjoint batches."""
    if get_engine().dialect.name == "postgresql":
        params = {"now": now, "until": now + lease, "n": limit}
        rows = await session.execute(_CLAIM_PG, params)
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)
    due = or_(
        and_(Timer.state == TimerState.pending, Timer.due_at <= now),
        and_(Timer.state == TimerState.running, Timer.lease_until < now),
    )
    pick = (
        select(Timer.id)
        .where(due)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(Timer)
        .where(Timer.id.in_(pick.scalar_subquery()))
        .values(state=TimerState.running, lease_until=now + lease, runs=Timer.runs + 1)
        .returning(Timer.id, Timer.kind, Timer.runs, Timer.delivery_id)
        .execution_options(synchronize_session=False)
    )
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


# PostgreSQL: the same claim, written so that each part uses an index (EXPLAIN ANALYZE, 10,000
# timers due, docs/escalation.md): the pending ones in (state, due_at) order, the expired
# leases apart (the OR of both, sorted on (due_at, id), read and sorted every due row), and the
# rows updated by primary key (`id IN (subquery)` was a hash join over the whole table, once
# per batch: a cost that grows with the table's history).
_CLAIM_PG = text(
    "WITH expired AS ("
    " SELECT id FROM escalation_timers WHERE state = 'running' AND lease_until < :now"
    " ORDER BY due_at, id LIMIT :n FOR UPDATE SKIP LOCKED),"
    " due AS ("
    " SELECT id FROM escalation_timers WHERE state = 'pending' AND due_at <= :now"
    " ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED)"
    " UPDATE escalation_timers AS t SET state = 'running', lease_until = :until,"
    " runs = t.runs + 1"
    " WHERE t.id = ANY(ARRAY(SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT :n))"
    " RETURNING t.id, t.kind, t.runs, t.delivery_id"
)


async def prepare(session: AsyncSession, timers: list[Claimed], now: datetime) -> list[Job]:
    """In the claim's transaction: mark each delivery `sending` (a delivery found `sending`
    was cut off by a crash: marked possible duplicate), skip those whose chain stopped.

    One UPDATE ... RETURNING for the batch, not ORM rows: per alert, the claim's cost is then
    mostly the alert's own fields (benchmarks/escalation.py)."""
    if not timers:
        return []
    ids = [t.delivery_id for t in timers if t.delivery_id is not None]
    live = select(Escalation.id).where(Escalation.state.in_(outcomes.LIVE))
    taken = {
        row.id: row
        for row in await session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),
                Delivery.state.in_((DeliveryState.pending, DeliveryState.sending)),
                Delivery.escalation_id.in_(live.scalar_subquery()),
            )
            .values(
                # SET sees the row as it was: a delivery still `sending` was cut off by a crash.
                possible_duplicate=or_(
                    Delivery.possible_duplicate, Delivery.state == DeliveryState.sending
                ),
                state=DeliveryState.sending,
                attempts=Delivery.attempts + 1,
            )
            .returning(*_ALERT_COLUMNS)
            .execution_options(synchronize_session=False)
        )
    }
    left = [t for t in timers if t.delivery_id not in taken]
    if left:
        # Not pending any more (sent, cancelled...), or its chain stopped (acknowledged,
        # superseded, closed) meanwhile: not sent, and its timer is done.
        await session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_([t.delivery_id for t in left if t.delivery_id is not None]),
                Delivery.state.in_((DeliveryState.pending, DeliveryState.sending)),
            )
            .values(state=DeliveryState.skipped)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Timer)
            .where(Timer.id.in_([t.id for t in left]))
            .values(state=TimerState.done, done_at=now)
            .execution_options(synchronize_session=False)
        )
    batch, jobs = _Batch(), []
    for timer in timers:
        found = taken.get(timer.delivery_id or 0)
        if found is None:
            continue
        info = await alert_info(session, found, batch)
        address = await _address(session, found, batch)
        jobs.append(
            Job(
                timer.id,
                timer.runs,
                found.id,
                found.channel,
                address,
                info,
                found.staff_id,
                found.escalation_id,
                found.round,
                found.step,
            )
        )
    return jobs


_ALERT_COLUMNS = (
    Delivery.id,
    Delivery.escalation_id,
    Delivery.case_id,
    Delivery.round,
    Delivery.step,
    Delivery.channel,
    Delivery.staff_id,
    Delivery.alert_channel_id,
    Delivery.created_at,
    Delivery.purpose,
    Delivery.possible_duplicate,
)


async def send(
    channel: str, address: Address, notice: notifier.Notice, staff_id: int | None = None
) -> None:
    """One notice to one recipient, through the notifier registered for `channel`
    (escalation.notifier): an alert, a test alert, the statistics notice."""
    found = notifier.get(channel)
    if found is None:
        raise notifier.NotifyError("unknown_channel")
    target, secret = address
    await found.send(notifier.Target(target, secret, staff_id), notice)


async def run_job(job: Job, clock: Callable[[], datetime]) -> Job:
    """Send one alert; the outcome stays on the job (never raises for a delivery failure)."""
    try:
        if job.address is None:
            raise notifier.NotifyError("no_address")
        await send(job.channel, job.address, job.info.notice(), job.staff_id)
        job.sent_at = clock()
    except notifier.NotifyError as exc:
        job.error, job.ambiguous = str(exc), exc.ambiguous
    except Exception as exc:  # a notifier bug must not lose the batch: retried like a failure
        job.error = f"error_{type(exc).__name__}"
    return job


async def record(jobs: list[Job], clock: Callable[[], datetime]) -> None:
    """One transaction for a batch's outcomes; timers taken over by another worker are left.

    A timer is ours while it is still `running` with the lease number we took: one UPDATE
    for the batch finds (and locks) those, one more marks the sent deliveries."""
    if not jobs:
        return
    async with session_scope() as session:
        now = clock()
        postgres = get_engine().dialect.name == "postgresql"
        ours = await (_finish_pg if postgres else _finish)(session, jobs, now)
        sent = [j for j in jobs if j.timer_id in ours and j.error is None]
        if sent:
            await (_mark_sent_pg if postgres else _mark_sent)(session, sent)
        failing = [j for j in jobs if j.timer_id in ours and j.error is not None]
        if failing:
            await _failed(session, failing, now)
        await outcomes.delivered(session, sent, now)
    await health.note_results(((job.channel, job.error) for job in jobs), clock())
    failed = len(jobs) - sum(1 for job in jobs if job.error is None)
    log.info("alert deliveries", extra={"sent": len(jobs) - failed, "failed": failed})


# PostgreSQL: arrays bound once instead of a parameter (or a statement) per alert; building
# and compiling those was a fifth of a worker's CPU per alert (benchmarks/escalation.py).
# `id = ANY(:ids)` lets the rows be found by primary key: joined on unnest alone, the planner
# hashed the whole table once per batch.
_FINISH_PG = text(
    "UPDATE escalation_timers AS t SET state = 'done', done_at = :now"
    " FROM unnest(CAST(:ids AS integer[]), CAST(:runs AS integer[])) AS v(id, runs)"
    " WHERE t.id = ANY(CAST(:ids AS integer[])) AND t.id = v.id AND t.runs = v.runs"
    " AND t.state = 'running' RETURNING t.id"
)
_SENT_PG = text(
    "UPDATE escalation_deliveries AS d SET state = 'sent', last_error = NULL, sent_at = v.at"
    " FROM unnest(CAST(:ids AS integer[]), CAST(:at AS timestamptz[])) AS v(id, at)"
    " WHERE d.id = ANY(CAST(:ids AS integer[])) AND d.id = v.id"
)


async def _finish_pg(session: AsyncSession, jobs: list[Job], now: datetime) -> set[int]:
    """Mark done the batch's timers that are still ours (running, our lease); their ids."""
    params = {"now": now, "ids": [j.timer_id for j in jobs], "runs": [j.runs for j in jobs]}
    return set((await session.execute(_FINISH_PG, params)).scalars())


async def _finish(session: AsyncSession, jobs: list[Job], now: datetime) -> set[int]:
    return set(
        (
            await session.execute(
                update(Timer)
                .where(
                    tuple_(Timer.id, Timer.runs).in_([(j.timer_id, j.runs) for j in jobs]),
                    Timer.state == TimerState.running,
                )
                .values(state=TimerState.done, done_at=now)
                .returning(Timer.id)
                .execution_options(synchronize_session=False)
            )
        ).scalars()
    )


async def _mark_sent_pg(session: AsyncSession, sent: list[Job]) -> None:
    ids, at = [j.delivery_id for j in sent], [j.sent_at for j in sent]
    await session.execute(_SENT_PG, {"ids": ids, "at": at})


async def _mark_sent(session: AsyncSession, sent: list[Job]) -> None:
    await session.execute(
        update(Delivery),
        [
            {
                "id": j.delivery_id,
                "state": DeliveryState.sent,
                "sent_at": j.sent_at,
                "last_error": None,
            }
            for j in sent
        ],
    )


async def _failed(session: AsyncSession, jobs: list[Job], now: datetime) -> None:
    """Retry with backoff, next channel, move on, incident (escalation.outcomes.failed)."""
    timers = {
        t.id: t
        for t in (
            await session.execute(select(Timer).where(Timer.id.in_([j.timer_id for j in jobs])))
        ).scalars()
    }
    deliveries = {
        d.id: d
        for d in (
            await session.execute(
                select(Delivery).where(Delivery.id.in_([j.delivery_id for j in jobs]))
            )
        ).scalars()
    }
    for job in jobs:
        found = deliveries[job.delivery_id]
        if found.state == DeliveryState.sending:
            assert job.error is not None
            await outcomes.failed(
                session, timers[job.timer_id], found, now, job.error, job.ambiguous
            )
        # else: cancelled or skipped while it was out (case closed, chain ended): no retry

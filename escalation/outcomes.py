"""What a delivery's outcome does to its chain: at-least-once until acknowledged or closed.

* Sent: the person counts as reached for this step; their other channels of the step that
  have not gone out are skipped (one alert per recipient and step), and a delivery incident
  of the chain ends.
* Failed: the alert is retried after a capped backoff (never more than
  `delivery.max_backoff_seconds` apart) for as long as the chain is live; the person's next
  channel in their profile order is tried at once; when nobody of the step has been reached
  and nothing of it is still untried, the chain moves to the next step at once. A live chain
  that has reached nobody is a delivery incident (banner, ERROR log) until something is sent.
* Not reached after all (`not_reached`: a cloud's receipt says the call was not answered or
  the SMS not delivered): a sent alert becomes a failure, with everything above.

Logs carry ids, channel kinds and error labels only: never text, names, addresses or tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import notifier, timers
from escalation.config import settings
from escalation.models import ChainState, Delivery, DeliveryState, Escalation, Timer
from escalation.timers import TimerKind, TimerState
from triage.models import Case

log = logging.getLogger("escalation.delivery")

# Alerts of these chains keep being delivered.
LIVE = (ChainState.active, ChainState.incident, ChainState.exhausted)
# Not yet out, and not given up.
WAITING = (DeliveryState.pending, DeliveryState.sending, DeliveryState.standby)


def backoff(attempts: int, urgency: str | None = None) -> float:
    """Seconds before attempt `attempts + 1`: the configured steps, capped (lower for the
    urgencies of `max_backoff_by_urgency`, so that an emergency alert goes out soon after its
    channel recovers)."""
    conf = settings()["delivery"]
    steps = [float(s) for s in conf["backoff_seconds"]]
    wait = steps[min(max(attempts, 1) - 1, len(steps) - 1)]
    cap = float(conf["max_backoff_seconds"])
    by_urgency = conf.get("max_backoff_by_urgency") or {}
    if urgency in by_urgency:
        cap = min(cap, float(by_urgency[urgency]))
    return min(wait, cap)


class Reached(Protocol):
    """A delivery that went out (the worker's job of it): whose, which step, which channel."""

    escalation_id: int
    round: int
    step: int
    staff_id: int | None
    channel: str


async def delivered(session: AsyncSession, sent: Sequence[Reached], now: datetime) -> None:
    """Skip the reached persons' other waiting channels of the same step; end incidents."""
    if not sent:
        return
    chains = {d.escalation_id for d in sent}
    # An alert stored in the console is delivered, but the person may not be signed in: it
    # does not make their other channels of the step unnecessary.
    reached = {
        (d.escalation_id, d.round, d.step, d.staff_id)
        for d in sent
        if d.staff_id and not notifier.alongside(d.channel)
    }
    if reached:
        others = (
            await session.execute(
                select(Delivery).where(
                    Delivery.escalation_id.in_(chains),
                    Delivery.staff_id.is_not(None),
                    Delivery.state.in_((DeliveryState.pending, DeliveryState.standby)),
                )
            )
        ).scalars()
        skipped = [
            d.id
            for d in others
            if (d.escalation_id, d.round, d.step, d.staff_id) in reached
            and not d.all_channels
            and not notifier.alongside(d.channel)
        ]
        if skipped:
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(skipped))
                .values(state=DeliveryState.skipped, last_error="reached_on_other_channel")
                .execution_options(synchronize_session=False)
            )
            await _cancel_delivery_timers(session, skipped, now)
    ended = (
        await session.execute(
            select(Escalation).where(
                Escalation.id.in_(chains), Escalation.incident_since.is_not(None)
            )
        )
    ).scalars()
    for chain in ended:
        log.warning(
            "delivery incident ended",
            extra={"escalation_id": chain.id, "case_id": chain.case_id},
        )
        chain.incident_since = None
        if chain.state == ChainState.incident:
            chain.state = ChainState.exhausted  # someone has been told now; still acknowledgeable


async def failed(
    session: AsyncSession,
    timer: Timer,
    found: Delivery,
    now: datetime,
    error: str,
    ambiguous: bool,
) -> None:
    """Retry later, try the person's next channel now, move the chain on if nobody was reached."""
    found.last_error = error[:64]
    # The receiver may have the alert already: the next attempt says it may be a duplicate.
    found.possible_duplicate = found.possible_duplicate or ambiguous
    case = await session.get(Case, found.case_id)
    wait = backoff(found.attempts, case.urgency if case is not None else None)
    found.state, found.due_at = DeliveryState.pending, now + timedelta(seconds=wait)
    timer.state, timer.done_at, timer.due_at = TimerState.pending, None, found.due_at
    log.warning(
        "alert delivery failed",
        extra={
            "delivery_id": found.id,
            "case_id": found.case_id,
            "channel": found.channel,
            "error": found.last_error,
            "attempts": found.attempts,
            "ambiguous": ambiguous,
            "retry_in_s": wait,
        },
    )
    # Lock the chain: two deliveries failing at once must not each see the other untried.
    chain = await session.get(
        Escalation, found.escalation_id, with_for_update=True, populate_existing=True
    )
    await session.flush()
    if found.attempts == 1:
        await _next_channel(session, found, now)
    step = (
        await session.execute(
            select(Delivery.state, Delivery.attempts).where(
                Delivery.escalation_id == found.escalation_id,
                Delivery.round == found.round,
                Delivery.step == found.step,
            )
        )
    ).all()
    anyone = any(state == DeliveryState.sent for state, _ in step)
    untried = any(
        state in (DeliveryState.pending, DeliveryState.sending) and tries == 0
        for state, tries in step
    )
    if not anyone and not untried:
        await _move_on(session, found, now)
    if chain is not None and chain.state in LIVE and chain.incident_since is None:
        await _maybe_incident(session, chain, now)


async def not_reached(session: AsyncSession, delivery_id: int, now: datetime, error: str) -> bool:
    """A receipt came back: an alert counted as sent did not reach its person after all (a
    call nobody answered, an SMS the carrier could not deliver). It is then a failure like
    any other: retried with backoff while the chain is live, the person's next channel goes
    out (the ones skipped because this one seemed to reach them come back), the chain moves
    on or becomes an incident when nobody is reached. Returns whether anything changed."""
    found = await session.get(Delivery, delivery_id, with_for_update=True)
    if found is None or found.state != DeliveryState.sent:
        return False  # already failing, cancelled or skipped: nothing to undo
    chain = await session.get(Escalation, found.escalation_id)
    if chain is None or chain.state not in LIVE:
        return False  # acknowledged or closed meanwhile: nobody needs paging any more
    found.sent_at = None
    same_person = (
        Delivery.escalation_id == found.escalation_id,
        Delivery.round == found.round,
        Delivery.step == found.step,
        Delivery.staff_id == found.staff_id,
    )
    reached_otherwise = (
        await session.execute(
            select(Delivery.id)
            .where(*same_person, Delivery.id != found.id, Delivery.state == DeliveryState.sent)
            .limit(1)
        )
    ).first()
    restore = found.staff_id is not None and reached_otherwise is None
    if restore:
        await session.execute(
            update(Delivery)
            .where(
                *same_person,
                Delivery.state == DeliveryState.skipped,
                Delivery.last_error == "reached_on_other_channel",
            )
            .values(state=DeliveryState.standby, last_error=None)
            .execution_options(synchronize_session=False)
        )
    if restore and found.attempts != 1:  # `failed` tries the next channel on a first failure
        await _next_channel(session, found, now)
    timer = await timers.schedule(session, TimerKind.deliver, now, delivery_id=found.id)
    await failed(session, timer, found, now, error, False)
    return True


async def _next_channel(session: AsyncSession, found: Delivery, now: datetime) -> None:
    """The person's next channel (profile order) goes out at once, if there is one."""
    if found.staff_id is None:
        return
    standby = (
        await session.execute(
            select(Delivery)
            .where(
                Delivery.escalation_id == found.escalation_id,
                Delivery.round == found.round,
                Delivery.step == found.step,
                Delivery.staff_id == found.staff_id,
                Delivery.state == DeliveryState.standby,
            )
            .order_by(Delivery.rank)
            .limit(1)
        )
    ).scalar_one_or_none()
    if standby is not None:
        standby.state, standby.due_at = DeliveryState.pending, now
        await timers.schedule(session, TimerKind.deliver, now, delivery_id=standby.id)


async def _move_on(session: AsyncSession, found: Delivery, now: datetime) -> None:
    """Nobody of this step was reached: its successor step is due now, not after the wait."""
    await session.execute(
        update(Timer)
        .where(
            Timer.escalation_id == found.escalation_id,
            Timer.kind == TimerKind.step,
            Timer.state == TimerState.pending,
            Timer.round == found.round,
            Timer.step == found.step + 1,
            Timer.due_at > now,
        )
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )


async def _maybe_incident(session: AsyncSession, chain: Escalation, now: datetime) -> None:
    sent = (
        await session.execute(
            select(Delivery.id)
            .where(Delivery.escalation_id == chain.id, Delivery.state == DeliveryState.sent)
            .limit(1)
        )
    ).first()
    if sent is None:
        start_incident(chain, now, "nobody_reached")


def start_incident(chain: Escalation, now: datetime, reason: str) -> None:
    """Mark a live chain that has reached nobody; the banner and the ERROR log say so."""
    if chain.incident_since is None:
        chain.incident_since = now
        log.error(
            "delivery incident",
            extra={"escalation_id": chain.id, "case_id": chain.case_id, "reason": reason},
        )


async def _cancel_delivery_timers(session: AsyncSession, ids: list[int], now: datetime) -> None:
    await session.execute(
        update(Timer)
        .where(
            and_(
                Timer.kind == TimerKind.deliver,
                Timer.delivery_id.in_(ids),
                Timer.state == TimerState.pending,
            )
        )
        .values(state=TimerState.cancelled, done_at=now)
        .execution_options(synchronize_session=False)
    )


async def stop_case(session: AsyncSession, case_id: int, now: datetime, reason: str) -> int:
    """The case was closed or merged: its live chains end, their timers and every alert not yet
    out are cancelled, in the caller's transaction. Returns how many chains ended."""
    chains = list(
        (
            await session.execute(
                select(Escalation)
                .where(Escalation.case_id == case_id, Escalation.state.in_(LIVE))
                .with_for_update()
            )
        ).scalars()
    )
    for chain in chains:
        chain.state, chain.ended_at, chain.incident_since = ChainState.closed, now, None
        await timers.cancel_chain_timers(session, chain.id, now)
    if not chains:
        return 0
    ids = [c.id for c in chains]
    waiting = list(
        (
            await session.execute(
                select(Delivery.id).where(
                    Delivery.escalation_id.in_(ids), Delivery.state.in_(WAITING)
                )
            )
        ).scalars()
    )
    if waiting:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(waiting))
            .values(state=DeliveryState.cancelled, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        await _cancel_delivery_timers(session, waiting, now)
    return len(chains)

"""Durable timers: rows written in the caller's transaction, run later by a worker.

Each kind of timer has one handler, registered by the module that owns the work
(`@handles(TimerKind.step)` on `chain.run_step`); the worker looks the kind up
(`handler_for`) instead of comparing strings. `deliver` timers have no handler here: the
worker claims them in batches and sends them through `escalation.delivery`.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import Timer


class TimerKind(enum.StrEnum):
    """What a timer does when it is due (the `kind` column)."""

    step = "step"  # the next step of an escalation chain (chain.run_step)
    reack = "reack"  # acknowledged without progress: alert again (chain.run_reack)
    deadline = "deadline"  # a statutory report's deadline (reports.run_deadline)
    deliver = "deliver"  # one alert to send (claimed in batches, escalation.delivery)


class TimerState(enum.StrEnum):
    """A timer's life (the `state` column)."""

    pending = "pending"
    running = "running"  # claimed by a worker, under its lease
    done = "done"
    cancelled = "cancelled"


TimerHandler = Callable[[AsyncSession, Timer, datetime], Awaitable[None]]
# Modules that register timer handlers when imported (one line per module).
HANDLER_MODULES: tuple[str, ...] = ("escalation.chain", "escalation.reports")
_handlers: dict[str, TimerHandler] = {}


def handles(kind: TimerKind) -> Callable[[TimerHandler], TimerHandler]:
    """Register the one handler of `kind` (a decorator, applied at import)."""

    def register(handler: TimerHandler) -> TimerHandler:
        known = _handlers.get(kind)
        if known is not None and known.__qualname__ != handler.__qualname__:
            raise ValueError(f"timer kind {kind} already runs {known.__qualname__}")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> TimerHandler | None:
    """The handler of a timer kind; None for `deliver` and for a kind nobody registered."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return _handlers.get(kind)


async def schedule(session: AsyncSession, kind: TimerKind, due_at: datetime, **ids: int) -> Timer:
    """Add a pending timer; it commits (or rolls back) with the caller's transaction."""
    timer = Timer(kind=kind, due_at=due_at, state=TimerState.pending, **ids)
    session.add(timer)
    await session.flush()
    return timer


async def schedule_many(
    session: AsyncSession, kind: TimerKind, due: list[tuple[datetime, dict]]
) -> None:
    """Add several pending timers (each a due time and its ids) in one INSERT."""
    if due:
        state = TimerState.pending
        rows = [{"kind": kind, "due_at": at, "state": state, **ids} for at, ids in due]
        await session.execute(insert(Timer), rows)


async def cancel_chain_timers(session: AsyncSession, escalation_id: int, at: datetime) -> int:
    """Stop an escalation's pending step and re-alert timers (deliveries already due still go)."""
    result = await session.execute(
        update(Timer)
        .where(
            Timer.escalation_id == escalation_id,
            Timer.kind.in_((TimerKind.step, TimerKind.reack)),
            Timer.state.in_((TimerState.pending, TimerState.running)),
        )
        .values(state=TimerState.cancelled, done_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending timer is due (the worker sleeps until then when idle)."""
    query = select(func.min(Timer.due_at)).where(Timer.state == TimerState.pending)
    return (await session.execute(query)).scalar_one_or_none()

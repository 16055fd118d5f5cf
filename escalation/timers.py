"""Durable timers: rows written in the caller's transaction, run later by a worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import Timer


async def schedule(session: AsyncSession, kind: str, due_at: datetime, **ids: int) -> Timer:
    """Add a pending timer; it commits (or rolls back) with the caller's transaction."""
    timer = Timer(kind=kind, due_at=due_at, state="pending", **ids)
    session.add(timer)
    await session.flush()
    return timer


async def cancel_chain_timers(session: AsyncSession, escalation_id: int, at: datetime) -> int:
    """Stop an escalation's pending step and re-alert timers (deliveries already due still go)."""
    result = await session.execute(
        update(Timer)
        .where(
            Timer.escalation_id == escalation_id,
            Timer.kind.in_(("step", "reack")),
            Timer.state.in_(("pending", "running")),
        )
        .values(state="cancelled", done_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

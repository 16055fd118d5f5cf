"""Escalation's handlers on triage's hooks: they run INSIDE the intake transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from escalation import chain, outcomes, reports
from escalation.models import ChainReason
from helpline.db import utcnow
from triage.intake import revealed_at


async def on_case_opened(session: AsyncSession, case: Any, analysis: Any) -> None:
    """Statutory reports due from receipt, and the first escalation step due at once."""
    await reports.open_reports(session, case, case.received_at, new_case=True)
    await chain.start_chain(session, case, ChainReason.opened, case.received_at)


async def on_case_raised(session: AsyncSession, case: Any, analysis: Any) -> None:
    """Reports newly required, due from the message that revealed them (a later message, or
    for a relabel the latest message received), and a chain for the new urgency from now."""
    await reports.open_reports(session, case, await revealed_at(session, case))
    await chain.start_chain(session, case, ChainReason.raised, case.last_activity_at)


async def on_case_closed(session: AsyncSession, case: Any, reason: str) -> None:
    """Closed or merged away: chains, timers and alerts not yet out end in this transaction."""
    await outcomes.stop_case(session, case.id, case.closed_at or utcnow(), reason)

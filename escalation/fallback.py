"""Fallback routing: a case nobody at its organisation may take goes up to the district.

Who may take a case is `triage.permissions.can_claim`, asked of every active staff member of
the case's organisation and of its district (whose scope covers the district's schools).
When nobody at the organisation itself may take it (a sexual-abuse case at a school without
a safeguarding lead, say), the case is routed up: an audit event `case.routed_up` and an
alert to everyone at the district who may take it, on the case's escalation chain (started
for the purpose if the case's urgency would not start one), in the intake transaction.

An emergency case that was acknowledged but that nobody has taken is alerted again after
`unowned_emergency_minutes` (data/escalation/coverage.yaml) to everyone who may take it, at
the school and the district, and its chain goes on to the next step, instead of waiting for
the policy's re-alert.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import chain, timers
from escalation.coverage import words
from escalation.models import ChainReason, ChainState, DeliveryPurpose, Escalation
from helpline import audit, configcache
from triage import permissions as perm
from triage.models import Case, CaseStatus, Organisation, StaffUser

log = logging.getLogger(__name__)
UNOWNED_CHECK = -1  # the `step` of a reack timer that checks whether anybody took the case


async def takers_of(session: AsyncSession, case: Case) -> tuple[list[StaffUser], list[StaffUser]]:
    """(at the case's organisation, at its district) the active staff who may take the case."""
    # In the identity map, case.org (and the permission checks' case.org) loads without SQL.
    org = await session.get(Organisation, case.org_id)
    assert org is not None
    ids = [case.org_id] + ([org.parent_id] if org.parent_id else [])
    staff = (
        await session.execute(
            select(StaffUser)
            .where(StaffUser.org_id.in_(ids), StaffUser.active.is_(True))
            .order_by(StaffUser.id)
        )
    ).scalars()
    may = [person for person in staff if perm.can_claim(person, case)]
    return [p for p in may if p.org_id == case.org_id], [p for p in may if p.org_id != case.org_id]


async def _active_chain(session: AsyncSession, case_id: int) -> Escalation | None:
    return (
        await session.execute(
            select(Escalation)
            .where(Escalation.case_id == case_id, Escalation.state == ChainState.active)
            .order_by(Escalation.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def alert_people(
    session: AsyncSession,
    escalation: Escalation,
    case: Case,
    people: list[StaffUser],
    now: datetime,
    purpose: DeliveryPurpose,
) -> int:
    """Alert these people on the chain (each on every channel they have), outside its steps."""
    if not people:
        return 0
    step = {"targets": [{"notify": "staff", "staff": p.username} for p in people]}
    position = escalation.round, escalation.step
    # Step -1: not one of the policy's steps, so the chain's own step counting is untouched.
    sent = await chain.alert_step(session, escalation, case, step, position[0], -1, now, purpose)
    escalation.round, escalation.step = position
    return sent


async def _has_local_taker(session: AsyncSession, case: Case) -> bool:
    """Whether someone at the case's own organisation may take it, for a case nobody has.

    For an unassigned open case that depends only on its organisation and on whether it is
    restricted (triage.permissions.can_claim), so the answer is cached per process until an
    administrator changes a staff member's role, organisation or active flag, or an
    organisation (helpline.configcache)."""

    async def load(s: AsyncSession) -> bool:
        local, _upper = await takers_of(s, case)
        return bool(local)

    key = f"escalation.local_taker:{case.org_id}:{bool(case.restricted)}"
    return await configcache.cached(session, key, load)


async def route_up(session: AsyncSession, case: Case, now: datetime) -> bool:
    """Route a case nobody at its organisation may take to the district; True if routed."""
    if case.assignee_id is not None or case.status == CaseStatus.closed:
        return False
    if await _has_local_taker(session, case):
        return False
    local, upper = await takers_of(session, case)
    if local:
        return False
    org = await session.get(Organisation, case.org_id)
    assert org is not None
    district = await session.get(Organisation, org.parent_id) if org.parent_id else None
    await audit.record(
        session,
        "system",
        "case.routed_up",
        "case",
        case.id,
        org=org.code,
        to=district.code if district else None,
        restricted=case.restricted,
        takers=len(upper),
    )
    if not upper:
        # A gap `helpline config check` refuses; at run time the chain still alerts.
        log.error("case has nobody who may take it", extra={"case_id": case.id})
        return True
    escalation = await _active_chain(session, case.id) or await chain.start_chain(
        session, case, ChainReason.fallback, now, force=True
    )
    if escalation is not None:
        await alert_people(session, escalation, case, upper, now, DeliveryPurpose.fallback)
    return True


async def on_case_opened(session: AsyncSession, case: Any, analysis: Any) -> None:
    await route_up(session, case, case.received_at)


async def on_case_raised(session: AsyncSession, case: Any, analysis: Any) -> None:
    await route_up(session, case, case.last_activity_at)


def _unowned(case: Case) -> bool:
    return (
        case.urgency == "emergency"
        and case.assignee_id is None
        and case.status != CaseStatus.closed
    )


async def after_acknowledge(session: AsyncSession, escalation: Escalation, now: datetime) -> None:
    """An acknowledged emergency nobody has taken is checked again soon (not at reack_minutes)."""
    case = await session.get(Case, escalation.case_id)
    if case is not None and _unowned(case):
        minutes = int(words()["unowned_emergency_minutes"])
        # step -1 marks this re-alert timer as the ownership check (chain.run_reack).
        await timers.schedule(
            session,
            timers.TimerKind.reack,
            now + timedelta(minutes=minutes),
            escalation_id=escalation.id,
            step=UNOWNED_CHECK,
        )


async def realert_unowned(
    session: AsyncSession, escalation: Escalation, case: Case, now: datetime
) -> bool:
    """Still nobody owns the emergency: alert everyone who may take it, at the school and up at
    the district, and let the chain go on to its next step now. True if it did."""
    if not _unowned(case):
        return False
    local, upper = await takers_of(session, case)
    escalation.state = ChainState.active
    await audit.record(
        session,
        "system",
        "escalation.unowned",
        "case",
        case.id,
        escalation_id=escalation.id,
        takers=len(local) + len(upper),
    )
    await alert_people(session, escalation, case, local + upper, now, DeliveryPurpose.unowned)
    await timers.schedule(
        session,
        timers.TimerKind.step,
        now,
        escalation_id=escalation.id,
        round=escalation.round,
        step=escalation.step + 1,
    )
    return True

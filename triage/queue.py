"""The counsellors' queue: listing with filters, take-next, claim, release, reassign.

Order: urgency (emergency first), then mandatory categories before others, then the longest
waiting. "Take the next case" is race-free on both backends: PostgreSQL skips rows another
transaction has locked (FOR UPDATE SKIP LOCKED) and every hand-out is a conditional UPDATE
... WHERE assignee_id IS NULL whose row count is checked, so one case goes to one person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from helpline import audit
from helpline.db import utcnow
from triage import permissions as perm
from triage.models import Case, CaseStatus, Organisation, Role, StaffUser

PAGE_SIZE = 50
OPEN_STATUSES = (
    CaseStatus.new,
    CaseStatus.claimed,
    CaseStatus.in_progress,
    CaseStatus.awaiting_report,
)
# Attempts before take-next gives up on a queue that others keep emptying under it.
TAKE_ATTEMPTS = 8
_ROW_COLUMNS = (
    Case.id,
    Case.org_id,
    Case.status,
    Case.labels,
    Case.urgency,
    Case.urgency_rank,
    Case.mandatory,
    Case.restricted,
    Case.assignee_id,
    Case.received_at,
    Case.first_response_due,
    Case.first_response_at,
    Case.channel,
)


class QueueConflict(Exception):
    """The case was handed to someone else meanwhile (or cannot be handed this way)."""


@dataclass(frozen=True)
class QueueFilters:
    school: str | None = None  # organisation code
    category: str | None = None
    urgency: str | None = None
    status: str | None = None  # one status, or None for every open case
    mine: bool = False
    overdue: bool = False
    page: int = 1


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    total: int
    page: int
    pages: int


def priority_order() -> tuple[object, ...]:
    return (Case.urgency_rank, Case.mandatory.desc(), Case.received_at, Case.id)


def content_hidden(staff: StaffUser) -> ColumnElement[bool]:
    """Rows whose content `staff` may not open (SQL twin of `perm.can_view_content`, within
    the visible cases): restricted cases, unless a lead or the assigned counsellor."""
    if staff.role in perm.LEAD_ROLES:
        return false()
    if staff.role == Role.counsellor:
        return and_(
            Case.restricted.is_(True),
            or_(Case.assignee_id.is_(None), Case.assignee_id != staff.id),
        )
    return Case.restricted.is_(True)


def order_for(staff: StaffUser) -> tuple[object, ...]:
    """`priority_order`, except that rows `staff` may not open come last, by arrival only:
    their place would otherwise tell their urgency and whether they must be reported."""
    hidden = content_hidden(staff)
    return (
        sql_case((hidden, 1), else_=0),
        sql_case((hidden, 0), else_=Case.urgency_rank),
        sql_case((hidden, False), else_=Case.mandatory).desc(),
        Case.received_at,
        Case.id,
    )


def _filtered(staff: StaffUser, f: QueueFilters, now: datetime) -> Select[tuple[Case]]:
    query = select(Case).where(perm.visible_cases_clause(staff))
    if f.status:
        query = query.where(Case.status == f.status)
    else:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    if f.school:
        query = query.join(Organisation, Organisation.id == Case.org_id).where(
            Organisation.code == f.school
        )
    if f.category:
        # Labels are a JSON list; matching the quoted name works on SQLite and PostgreSQL.
        query = query.where(cast(Case.labels, String).like(f'%"{f.category}"%'))
    if f.urgency:
        query = query.where(Case.urgency == f.urgency)
    if f.category or f.urgency or f.overdue:
        # A restricted case's category and urgency are content, and its first-response
        # deadline follows from its urgency: no filter may reveal them.
        query = query.where(not_(content_hidden(staff)))
    if f.mine:
        query = query.where(Case.assignee_id == staff.id)
    if f.overdue:
        query = query.where(Case.first_response_at.is_(None), Case.first_response_due < now)
    return query


async def list_queue(
    session: AsyncSession, staff: StaffUser, f: QueueFilters, now: datetime | None = None
) -> QueuePage:
    now = now or utcnow()
    base = _filtered(staff, f, now)
    total = (
        await session.execute(select(func.count()).select_from(base.order_by(None).subquery()))
    ).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, f.page), pages)
    # Page the ids first (an index-only scan on PostgreSQL, cheap even at deep OFFSETs), then
    # load just those rows.
    ids = list(
        (
            await session.execute(
                base.with_only_columns(Case.id)
                .order_by(*order_for(staff))
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        ).scalars()
    )
    loaded = (
        await session.execute(
            select(Case).options(load_only(*_ROW_COLUMNS)).where(Case.id.in_(ids))
        )
    ).scalars()
    by_id = {case.id: case for case in loaded}
    rows = [by_id[i] for i in ids if i in by_id]
    return QueuePage(list(rows), total, page, pages)


def _takeable(staff: StaffUser) -> Select[tuple[int]]:
    query = select(Case.id).where(
        perm.visible_cases_clause(staff),
        Case.status == CaseStatus.new,
        Case.assignee_id.is_(None),
    )
    if staff.role not in perm.LEAD_ROLES:
        # Restricted cases are handed out by the safeguarding lead.
        query = query.where(Case.restricted.is_(False))
    return query.order_by(*priority_order()).limit(1)


async def take_next(session: AsyncSession, staff: StaffUser) -> Case | None:
    """Hand the highest-priority unassigned case to `staff`; None when there is none."""
    if not perm.can_take_next(staff):
        raise PermissionError("role cannot take cases")
    for _ in range(TAKE_ATTEMPTS):
        case_id = (
            await session.execute(_takeable(staff).with_for_update(skip_locked=True))
        ).scalar_one_or_none()
        if case_id is None:
            return None
        if await _assign_if_free(session, case_id, staff.id):
            await audit.record(session, _actor(staff), "case.taken", "case", case_id)
            return await session.get(Case, case_id)
    return None


async def _assign_if_free(session: AsyncSession, case_id: int, staff_id: int) -> bool:
    result = await session.execute(
        update(Case)
        .where(Case.id == case_id, Case.assignee_id.is_(None))
        .values(
            assignee_id=staff_id,
            status=_claimed_status(),
            last_activity_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    case = await session.get(Case, case_id)
    if case is not None:
        await session.refresh(case)
    return True


def _claimed_status() -> object:
    # A reopened or new case becomes claimed; one already further along keeps its status.
    return sql_case((Case.status == CaseStatus.new, CaseStatus.claimed.value), else_=Case.status)


async def claim(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Take one particular case; QueueConflict if someone else holds it."""
    if case.assignee_id == staff.id:
        return
    if case.assignee_id is not None or not await _assign_if_free(session, case.id, staff.id):
        raise QueueConflict("already_assigned")
    await audit.record(session, _actor(staff), "case.claimed", "case", case.id)


async def release(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Give the case back to the queue."""
    previous = case.assignee_id
    case.assignee_id = None
    if case.status in (CaseStatus.claimed, CaseStatus.in_progress):
        case.status = CaseStatus.new
    case.last_activity_at = utcnow()
    await audit.record(
        session, _actor(staff), "case.released", "case", case.id, previous_assignee=previous
    )


async def reassign(session: AsyncSession, staff: StaffUser, case: Case, to: StaffUser) -> None:
    if not perm.may_be_assignee(to, case):
        raise QueueConflict("bad_assignee")
    previous = case.assignee_id
    case.assignee_id = to.id
    if case.status == CaseStatus.new:
        case.status = CaseStatus.claimed
    case.last_activity_at = utcnow()
    await audit.record(
        session,
        _actor(staff),
        "case.reassigned",
        "case",
        case.id,
        previous_assignee=previous,
        assignee=to.id,
    )


async def assignable_staff(session: AsyncSession, case: Case) -> list[StaffUser]:
    """Counsellors and leads who may be handed `case` (for the lead's reassign form)."""
    rows = (
        await session.execute(
            select(StaffUser)
            .where(
                StaffUser.active.is_(True),
                StaffUser.role.in_((Role.counsellor, Role.safeguarding_lead)),
                or_(
                    StaffUser.org_id == case.org_id,
                    StaffUser.org_id == case.org.parent_id,
                ),
            )
            .order_by(StaffUser.username)
        )
    ).scalars()
    return [s for s in rows if perm.may_be_assignee(s, case)]


async def start_work(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Someone acts on the case (reply, note): it is theirs if it was free, and in progress.

    A counsellor cannot act on a case another person holds; the lead may (supervision).
    """
    if case.assignee_id is None:
        await claim(session, staff, case)
    elif case.assignee_id != staff.id and staff.role not in perm.LEAD_ROLES:
        raise QueueConflict("assigned_to_other")
    if case.status in (CaseStatus.new, CaseStatus.claimed):
        case.status = CaseStatus.in_progress
    case.last_activity_at = utcnow()


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.id}"

"""Who may see and do what: the ONE place every console route (and other packages) asks.

Scope: a school's staff see their school's cases; district staff see every case of their
district (the district itself and its schools). Content (messages, labels, analysis,
elements, notes) of a restricted (sexual-abuse) case is open only to its assigned counsellor
and the safeguarding lead in scope; everyone else in scope with a case role sees that it
exists and its deadlines. A hotline operator sees and may add notes to the calls they logged
until a counsellor takes them (or the case closes), and nothing else. The matrix is documented
in docs/triage.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.datafiles import section_text
from triage.models import Case, CaseStatus, Organisation, OrgKind, Role, StaffUser

_said = section_text("triage", "refusals")  # words from data/triage/texts.yaml
# Roles that work the queue and may see case rows in their scope.

CASE_ROLES = frozenset({Role.counsellor, Role.safeguarding_lead, Role.duty_officer})
# Roles that act on a case (claim, reply, note, relabel, merge, close).
WORK_ROLES = frozenset({Role.counsellor, Role.safeguarding_lead})
# Roles that may reassign a case to someone else and open restricted cases unassigned.
LEAD_ROLES = frozenset({Role.safeguarding_lead})
ADMIN_ROLES = frozenset({Role.admin})
AUDIT_ROLES = frozenset({Role.auditor})
# Who answers the help phone and logs calls.
CALL_ROLES = frozenset({Role.hotline, Role.counsellor, Role.safeguarding_lead, Role.duty_officer})
# Roles that read case content (some or all of it). Giving an account one of these, or the admin
# role that approves such grants, needs a second administrator (four eyes, triage/grants.py).
CONTENT_ROLES = CASE_ROLES | {Role.hotline}
GUARDED_ROLES = CONTENT_ROLES | ADMIN_ROLES


def _is_district(staff: StaffUser) -> bool:
    return staff.org.kind == OrgKind.district


def scope_org_clause(staff: StaffUser, column: Any) -> ColumnElement[bool]:
    """`column` (an organisation id) lies in the staff member's scope."""
    if _is_district(staff):
        # One IN (subquery) rather than an OR: PostgreSQL plans it as a semi-join on an index.
        scope = select(Organisation.id).where(
            or_(Organisation.id == staff.org_id, Organisation.parent_id == staff.org_id)
        )
        return column.in_(scope)
    return column == staff.org_id


def own_calls_clause(staff: StaffUser) -> ColumnElement[bool]:
    """SQL condition for the calls a hotline operator logged that nobody has taken yet."""
    if staff.role != Role.hotline:
        return false()
    return and_(
        Case.logged_by_id == staff.id,
        Case.assignee_id.is_(None),
        Case.status != CaseStatus.closed,
        scope_org_clause(staff, Case.org_id),
    )


def own_open_call(staff: StaffUser, case: Case) -> bool:
    """A call this operator logged, not yet taken by a counsellor, not closed."""
    return (
        staff.role == Role.hotline
        and case.logged_by_id == staff.id
        and case.assignee_id is None
        and case.status != CaseStatus.closed
        and in_scope(staff, case)
    )


def visible_cases_clause(staff: StaffUser) -> ColumnElement[bool]:
    """SQL condition for the cases whose row (number, status, deadlines) `staff` may see."""
    if staff.role not in CASE_ROLES:
        return false()
    return scope_org_clause(staff, Case.org_id)


def in_scope(staff: StaffUser, case: Case) -> bool:
    """Needs `case.org` loaded (it is joined eagerly)."""
    if case.org_id == staff.org_id:
        return True
    return _is_district(staff) and case.org.parent_id == staff.org_id


def can_view(staff: StaffUser, case: Case) -> bool:
    """The case's row: number, status, deadlines (and that it is restricted)."""
    return (staff.role in CASE_ROLES and in_scope(staff, case)) or own_open_call(staff, case)


def can_view_content(staff: StaffUser, case: Case) -> bool:
    """Messages, labels, analysis, elements, notes, timeline."""
    if not can_view(staff, case):
        return False
    if own_open_call(staff, case):
        # The operator heard the call and wrote it down; restricted or not, it is their text.
        return True
    if not case.restricted:
        return True
    return staff.role in LEAD_ROLES or (
        staff.role == Role.counsellor and case.assignee_id == staff.id
    )


def can_act(staff: StaffUser, case: Case) -> bool:
    """Claim, reply, note, relabel, merge, close."""
    return staff.role in WORK_ROLES and can_view_content(staff, case)


def can_add_note(staff: StaffUser, case: Case) -> bool:
    """Notes: whoever may act, and the operator on a call they logged (adds what they learn)."""
    return can_act(staff, case) or own_open_call(staff, case)


def can_claim(staff: StaffUser, case: Case) -> bool:
    """A restricted case is handed out by the safeguarding lead, never taken by a counsellor."""
    if case.restricted:
        return staff.role in LEAD_ROLES and can_view(staff, case)
    return can_act(staff, case)


def can_reassign(staff: StaffUser, case: Case) -> bool:
    return staff.role in LEAD_ROLES and can_view(staff, case)


def can_release(staff: StaffUser, case: Case) -> bool:
    if case.status == CaseStatus.closed:
        return False  # a closed case has no queue to go back to
    return can_reassign(staff, case) or (
        staff.role in WORK_ROLES and case.assignee_id == staff.id and can_view(staff, case)
    )


def can_use_queue(staff: StaffUser) -> bool:
    return staff.role in CASE_ROLES


def can_take_next(staff: StaffUser) -> bool:
    return staff.role in WORK_ROLES


def can_search_text(staff: StaffUser) -> bool:
    """Searching the queue by words reads every message of many cases at once: those who
    work cases (read, reply) may, and only among the cases whose content they may open
    (triage.queue.content_hidden). Everyone else in the queue finds cases by number."""
    return staff.role in WORK_ROLES


def can_log_calls(staff: StaffUser) -> bool:
    return staff.role in CALL_ROLES


def can_administer(staff: StaffUser) -> bool:
    return staff.role in ADMIN_ROLES


def can_read_audit(staff: StaffUser) -> bool:
    return staff.role in AUDIT_ROLES


def may_be_assignee(candidate: StaffUser, case: Case) -> bool:
    """Whom a case may be handed to: an active counsellor or lead in the case's scope."""
    return candidate.active and candidate.role in WORK_ROLES and in_scope(candidate, case)


def require(allowed: bool) -> None:
    """403 unless `allowed` (call after the case was found visible, else use `visible_case`)."""
    if not allowed:
        raise HTTPException(status_code=403, detail=_said("role_not_allowed"))


async def visible_case(session: AsyncSession, staff: StaffUser, case_id: int) -> Case:
    """The case if `staff` may see its row; 404 otherwise (never reveal other scopes' cases)."""
    case = await session.get(Case, case_id)
    if case is None or not can_view(staff, case):
        if case is None or staff.role in CONTENT_ROLES:
            raise HTTPException(status_code=404, detail=_said("no_case"))
        raise HTTPException(status_code=403, detail=_said("role_cannot_view"))
    return case

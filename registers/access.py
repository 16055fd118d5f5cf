"""Who may read the statistics and registers, and for which organisations (triage's scopes)."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.datafiles import section_text
from registers.bundle import UnknownOrganisation, org_by_code
from triage.read import OrgLike, OrgRef, org_ref
from triage.read import Staff as StaffUser
from triage.read import StaffRole as Role

_said = section_text("registers", "access")  # words from data/registers/texts.yaml
# Statistics and the register go to administrators, the school's safeguarding lead and auditors;
# duty officers also see deadline compliance (they make the reports).
STATISTICS_ROLES = frozenset({Role.admin, Role.safeguarding_lead, Role.auditor})
COMPLIANCE_ROLES = STATISTICS_ROLES | {Role.duty_officer}
REGISTER_ROLES = STATISTICS_ROLES
REGISTER_EDIT_ROLES = frozenset({Role.safeguarding_lead})


def can_view_statistics(staff: StaffUser) -> bool:
    return staff.role in STATISTICS_ROLES


def can_view_compliance(staff: StaffUser) -> bool:
    return staff.role in COMPLIANCE_ROLES


def can_view_register(staff: StaffUser) -> bool:
    return staff.role in REGISTER_ROLES


def can_edit_register(staff: StaffUser, org_id: int) -> bool:
    return staff.role in REGISTER_EDIT_ROLES and org_id == staff.org_id


def in_scope(staff: StaffUser, org: OrgLike) -> bool:
    return org.id == staff.org_id or (
        staff.org.kind == "district" and org.parent_id == staff.org_id
    )


async def scoped_org(session: AsyncSession, staff: StaffUser, code: str | None) -> OrgRef:
    """The organisation asked for (default: the staff member's own), 404 outside the scope."""
    if not code:
        return org_ref(staff.org)
    try:
        org = await org_by_code(session, code)
    except UnknownOrganisation:
        org = None
    if org is None or not in_scope(staff, org):
        raise HTTPException(status_code=404, detail=_said("no_org"))
    return org


def nav_links(staff: StaffUser) -> list[tuple[str, str]]:
    """The registers' pages this staff member may open (added to the console navigation)."""
    links: list[tuple[str, str]] = []
    if can_view_statistics(staff):
        links.append(("/console/statistics", _said("nav_statistics")))
    if can_view_compliance(staff):
        links.append(("/console/compliance", _said("nav_compliance")))
    if can_view_register(staff):
        links.append(("/console/bullying", _said("nav_register")))
    return links

"""The coverage table in the admin console: who may take each kind of case, who is on duty
when, and every gap of the configuration in force (red), like an on-call tool's gap view."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import coverage
from escalation.web import render
from helpline import audit
from helpline.web import DbSession
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import StaffUser

router = APIRouter()


@router.get("/console/admin/coverage")
async def coverage_page(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Administrators: the coverage of the configuration the service runs with."""
    perm.require(perm.can_administer(staff))
    setup = await coverage.from_db(session)
    gaps = coverage.check(setup)
    rows = coverage.table(setup) if setup.district() else []
    rosters = [
        (coverage.org_label(setup, code), coverage.roster_week(setup, code))
        for code in sorted(setup.orgs, key=lambda c: (setup.orgs[c].kind != "district", c))
        if any(shift.org == code for shift in setup.shifts)
    ]
    await audit.record(
        session, f"staff:{staff.id}", "coverage.viewed", "coverage", "", gaps=len(gaps)
    )
    return render(request, "escalation/coverage.html", staff, gaps=gaps, rows=rows, rosters=rosters)


async def coverage_banner(session: AsyncSession, staff: StaffUser) -> list[str]:
    """triage's `console_banners` hook: administrators see on every page that the
    configuration in force has gaps (the service was started with --allow-gaps, or someone
    left since)."""
    if not perm.can_administer(staff):
        return []
    gaps = coverage.check(await coverage.from_db(session))
    if not gaps:
        return []
    return [coverage.words()["banner"].format(count=len(gaps))]

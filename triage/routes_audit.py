"""The auditor's page: who saw and changed which case, when (no case content)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from triage import caseview
from triage import permissions as perm
from triage.deps import DbSession, current_staff
from triage.models import Case, StaffUser
from triage.pages import render

_said = section_text("triage", "refusals")  # words from data/triage/texts.yaml

router = APIRouter(prefix="/console")


@router.get("/audit")
async def audit_page(
    request: Request,
    case: str = Query("", max_length=24),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(perm.can_read_audit(staff))
    found, entries = None, []
    if case.strip():
        case_id = caseview.parse_case_number(case)
        found = await session.get(Case, case_id) if case_id else None
        if found is None or not perm.in_scope(staff, found):
            raise HTTPException(status_code=404, detail=_said("no_case"))
        entries = await caseview.timeline(session, found.id)
        await audit.record(session, f"staff:{staff.id}", "audit.viewed", "case", found.id)
    return render(
        request, "console/audit.html", staff, case=found, entries=entries, number=case.strip()
    )

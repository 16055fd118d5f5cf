"""Escalation's web routes: deadline board, report recording, acknowledgement, fast report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, fastreport, health
from escalation.models import Delivery, StatutoryReport
from escalation.reports import OPEN_STATES, Made, ReportError, record_report
from escalation.web import render
from helpline import audit
from helpline.datafiles import section_text
from helpline.localtime import local_zone
from helpline.settings import get_settings
from helpline.web import DbSession, check_csrf
from triage import permissions as perm
from triage.auth import staff_for_token
from triage.deps import SESSION_COOKIE, current_staff
from triage.models import Case, StaffUser

_said = section_text("escalation", "refusals")  # words from data/escalation/texts.yaml

router = APIRouter()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/readyz", include_in_schema=False)
async def readyz() -> Response:
    """For monitors: database, workers' heartbeats, each notifier's last result (no names,
    addresses or secrets). 200 ok or degraded (a notifier's last try failed), else 503."""
    result = await health.readiness()
    return JSONResponse(result.body, status_code=result.http_status)


@dataclass(frozen=True)
class BoardRow:
    report: StatutoryReport
    case: Case
    content: bool


@router.get("/console/deadlines")
async def deadline_board(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Every open statutory report in the staff member's scope, soonest first."""
    perm.require(perm.can_use_queue(staff))
    found = await session.execute(
        select(StatutoryReport, Case)
        .join(Case, Case.id == StatutoryReport.case_id)
        .where(StatutoryReport.state.in_(OPEN_STATES), perm.visible_cases_clause(staff))
        .order_by(StatutoryReport.due_at, StatutoryReport.id)
        .limit(500)
    )
    rows = [BoardRow(r, c, perm.can_view_content(staff, c)) for r, c in found.all()]
    await audit.record(
        session, f"staff:{staff.id}", "deadlines.viewed", "board", "", rows=len(rows)
    )
    return render(request, "escalation/board.html", staff, rows=rows)


def _parse_local(value: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReportError(_said("bad_report_time")) from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=local_zone())


@router.post("/console/cases/{case_id}/reports/{report_id}")
async def record(
    request: Request,
    case_id: int,
    report_id: int,
    csrf_token: str = Form(""),
    made_to: str = Form(""),
    made_at: str = Form(""),
    reference: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Record a statutory report: who (the signed-in staff), to whom, when, reference."""
    check_csrf(request, csrf_token)
    case = await perm.visible_case(session, staff, case_id)
    perm.require(staff.role in perm.CASE_ROLES)
    try:
        made = Made(made_to, _parse_local(made_at), reference)
        await record_report(session, report_id, case.id, staff.id, made)
    except ReportError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return RedirectResponse(f"/console/cases/{case.id}?msg=report_recorded", status_code=303)


@router.post("/console/cases/{case_id}/acknowledge")
async def acknowledge_in_console(
    request: Request,
    case_id: int,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    case = await perm.visible_case(session, staff, case_id)
    # A hotline operator sees the call they logged, but the alerts are for duty staff.
    perm.require(staff.role in perm.CASE_ROLES)
    await ack.acknowledge_case(session, case.id, staff.id)
    return RedirectResponse(f"/console/cases/{case.id}?msg=acknowledged", status_code=303)


async def _content_case(session: AsyncSession, staff: StaffUser, case_id: int) -> Case:
    case = await perm.visible_case(session, staff, case_id)
    perm.require(staff.role in perm.CASE_ROLES and perm.can_view_content(staff, case))
    return case


@router.get("/console/cases/{case_id}/fast-report")
async def fast_report_page(
    request: Request,
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    case = await _content_case(session, staff, case_id)
    report = await fastreport.draft(session, case)
    await audit.record(session, f"staff:{staff.id}", "fast_report.viewed", "case", case.id)
    return render(request, "escalation/fast_report.html", staff, report=report, case_id=case.id)


@router.get("/console/cases/{case_id}/fast-report.docx")
async def fast_report_docx(
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    case = await _content_case(session, staff, case_id)
    body = fastreport.to_docx(await fastreport.draft(session, case))
    await audit.record(session, f"staff:{staff.id}", "fast_report.exported", "case", case.id)
    return Response(
        body,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="fast-report-{case.number}.docx"'},
    )


async def _number_for(session: AsyncSession, token: str) -> str | None:
    delivery_id = ack.parse_token(token)
    delivery = await session.get(Delivery, delivery_id) if delivery_id else None
    case = await session.get(Case, delivery.case_id) if delivery else None
    return case.number if case else None


def _ack_page(request: Request, result: str, token: str, number: str | None) -> Response:
    # A link that cannot be used any more is a clear page, not an error (status 200 for the
    # outcomes of a genuine link, 404 for a forged or unknown one).
    status = 404 if result == "invalid" else 200
    hours = get_settings().ack_link_hours
    return render(
        request,
        "escalation/ack.html",
        None,
        status_code=status,
        result=result,
        token=token,
        number=number if result != "invalid" else None,
        hours=f"{hours:g}",
    )


@router.get("/escalation/ack/{token}", response_class=HTMLResponse)
async def ack_page(request: Request, token: str, session: AsyncSession = DbSession) -> Response:
    """Only shows a confirm button: a link scanner that fetches the link acknowledges nothing."""
    result = await ack.link_state(session, token)
    return _ack_page(request, result, token, await _number_for(session, token))


@router.post("/escalation/ack/{token}", response_class=HTMLResponse)
async def ack_confirm(
    request: Request,
    token: str,
    csrf_token: str = Form(""),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    staff = await staff_for_token(session, request.cookies.get(SESSION_COOKIE))
    result = await ack.acknowledge_link(session, token, staff.id if staff else None)
    return _ack_page(request, result, token, await _number_for(session, token))

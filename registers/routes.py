"""Console pages and downloads: statistics, deadline compliance, the bullying register."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.db import utcnow
from helpline.web import check_csrf, csrf_token, templates_for
from registers import access, bullying, compliance, exports
from registers.bundle import FILES
from registers.charts import chart, figure_charts
from registers.config import (
    bullying_words,
    month_bounds,
    month_of,
    parse_month,
    words,
)
from registers.models import ScheduledSend
from registers.schedule import delivery_folder
from registers.stats import monthly, scope_orgs
from registers.suppress import table
from triage import permissions as perm
from triage import read
from triage.deps import DbSession, current_staff
from triage.pages import nav_for
from triage.read import OrgLike, RegisterCase
from triage.read import Staff as StaffUser

_said = section_text("registers", "routes")  # its messages, from data/registers/texts.yaml
router = APIRouter()
HERE = Path(__file__).parent
templates = templates_for(HERE / "templates", HERE.parent / "triage" / "templates")
CSV = "text/csv; charset=utf-8"
NAMES = ("labels", "urgencies", "channels", "reporter_kinds")


def _render(request: Request, name: str, staff: StaffUser, **context: Any) -> Response:
    context.update(staff=staff, csrf=csrf_token(request), nav=nav_for(staff))
    return templates.TemplateResponse(request, name, context)


def _month(value: str | None) -> str:
    if not value:
        return month_of(utcnow())
    try:
        parse_month(value)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=_said("bad_month")) from exc
    return value


def _download(content: bytes, filename: str, media: str) -> Response:
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


EXPORT_FORMATS = ("csv", "xlsx")


def _export_format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(status_code=404, detail=_said("bad_format"))
    return fmt


async def _audit_org(
    session: AsyncSession, staff: StaffUser, action: str, org: OrgLike, **details: Any
) -> None:
    """Every view and export of a register is audited against the organisation it covers."""
    await audit.record(session, f"staff:{staff.id}", action, "organisation", org.id, **details)


@router.get("/registers/static/registers.css", include_in_schema=False)
async def stylesheet() -> Response:
    return FileResponse(HERE / "static" / "registers.css", media_type="text/css")


@router.get("/console/statistics")
async def statistics_page(
    request: Request,
    month: str | None = None,
    org: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_statistics(staff))
    month = _month(month)
    target = await access.scoped_org(session, staff, org)
    report = await monthly(session, target, month)
    # Only the viewer's own organisation is shown unsuppressed: a district sees "<3" per school.
    suppressed = [column.org_id != staff.org_id for column in report.columns]
    names = {key: words(key) for key in NAMES}
    charts = figure_charts(report.columns[0], names, suppressed[0])
    schools = [(c.name, c.cases) for c in report.columns[1:]]
    school_chart = chart(_said("by_org"), schools, suppressed[1:]) if schools else None
    await _audit_org(session, staff, "statistics.viewed", target, month=month)
    return _render(
        request,
        "registers/statistics.html",
        staff,
        report=report,
        rows=table(report, suppressed),
        charts=charts,
        school_chart=school_chart,
        month=month,
        org=target,
        orgs=await scope_orgs(session, staff.org),
    )


@router.get("/console/statistics/export.{fmt}")
async def statistics_export(
    fmt: str,
    month: str | None = None,
    org: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_statistics(staff))
    _export_format(fmt)
    month = _month(month)
    target = await access.scoped_org(session, staff, org)
    report = await monthly(session, target, month)
    await _audit_org(session, staff, "statistics.exported", target, month=month, format=fmt)
    name = f"statistics-{target.code}-{month}.{fmt}"
    if fmt == "csv":
        return _download(exports.statistics_csv(report), name, CSV)
    return _download(exports.statistics_xlsx(report), name, exports.XLSX)


def _period(value: str | None) -> tuple[str, str]:
    """A month (YYYY-MM) or, for the compliance views, a whole year (YYYY): (first, last)."""
    if value and len(value) == 4 and value.isdigit():
        return _month(f"{value}-01"), _month(f"{value}-12")
    month = _month(value)
    return month, month


async def _compliance(
    session: AsyncSession, staff: StaffUser, period: str, org: str | None
) -> tuple[Any, list[compliance.ReportLine]]:
    target = await access.scoped_org(session, staff, org)
    first, last = _period(period)
    start, end = month_bounds(first)[0], month_bounds(last)[1]
    org_ids = [o.id for o in await scope_orgs(session, target)]
    return target, await compliance.lines(session, org_ids, start, end)


@router.get("/console/compliance")
async def compliance_page(
    request: Request,
    month: str | None = None,
    org: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_compliance(staff))
    month = month or month_of(utcnow())
    target, found = await _compliance(session, staff, month, org)
    await _audit_org(session, staff, "compliance.viewed", target, month=month)
    return _render(
        request,
        "registers/compliance.html",
        staff,
        lines=found,
        summaries=compliance.summarise(found),
        kinds=words("report_kinds"),
        outcomes=exports.outcome_words(),
        month=month,
        period=month,
        org=target,
        orgs=await scope_orgs(session, staff.org),
    )


@router.get("/console/compliance/export.{fmt}")
async def compliance_export(
    fmt: str,
    month: str | None = None,
    org: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_compliance(staff))
    _export_format(fmt)
    month = month or month_of(utcnow())
    target, found = await _compliance(session, staff, month, org)
    await _audit_org(session, staff, "compliance.exported", target, month=month, format=fmt)
    name = f"compliance-{target.code}-{month}.{fmt}"
    if fmt == "csv":
        return _download(exports.compliance_csv(found), name, CSV)
    summaries = compliance.summarise(found)
    content = exports.compliance_xlsx(found, summaries, target.name, month, utcnow())
    return _download(content, name, exports.XLSX)


async def _register(
    session: AsyncSession, staff: StaffUser, month: str | None, org: str | None
) -> tuple[Any, list[bullying.RegisterRow]]:
    target = await access.scoped_org(session, staff, org)
    org_ids = [o.id for o in await scope_orgs(session, target)]
    start, end = month_bounds(month) if month else (None, None)
    return target, await bullying.register_rows(session, org_ids, start, end)


@router.get("/console/bullying")
async def register_page(
    request: Request,
    month: str | None = None,
    org: str | None = None,
    msg: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_register(staff))
    month = _month(month) if month else None
    target, found = await _register(session, staff, month, org)
    await _audit_org(session, staff, "bullying_register.viewed", target)
    return _render(
        request,
        "registers/bullying.html",
        staff,
        rows=found,
        month=month or "",
        org=target,
        bw=_register_words(),
        can_edit=lambda row: access.can_edit_register(staff, row.org_id),
        msg=msg,
    )


def _register_words() -> dict[str, dict[str, str]]:
    return {
        key: bullying_words(key)
        for key in ("types", "investigation", "determination", "handling", "follow_up")
    }


@router.get("/console/bullying/export.xlsx")
async def register_export(
    month: str | None = None,
    org: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(access.can_view_register(staff))
    month = _month(month) if month else None
    target, found = await _register(session, staff, month, org)
    await _audit_org(session, staff, "bullying_register.exported", target, rows=len(found))
    content = exports.bullying_xlsx(found, target.name, month or _said("all_months"), utcnow())
    return _download(
        content, f"bullying-register-{target.code}-{month or 'all'}.xlsx", exports.XLSX
    )


async def _editable_case(session: AsyncSession, staff: StaffUser, case_id: int) -> RegisterCase:
    case = await read.register_case(session, case_id)
    if case is None or not access.in_scope(staff, case.org) or "bullying" not in case.labels:
        raise HTTPException(status_code=404, detail=_said("no_record"))
    perm.require(access.can_edit_register(staff, case.org_id))
    return case


@router.get("/console/bullying/{case_id}")
async def register_form(
    request: Request,
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    case = await _editable_case(session, staff, case_id)
    return _render(
        request,
        "registers/bullying_form.html",
        staff,
        row=await bullying.row_for(session, case),
        bw=_register_words(),
        error=None,
    )


def _date(value: Any) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise bullying.RegisterError(_said("bad_date")) from exc


def _text(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def _entry(form: Any) -> bullying.Entry:
    return bullying.Entry(
        incident_date=_date(form.get("incident_date")),
        grade=_text(form.get("grade")),
        bullying_type=_text(form.get("bullying_type")),
        investigation=_text(form.get("investigation")) or "received",
        investigated_on=_date(form.get("investigated_on")),
        determination=_text(form.get("determination")) or "pending",
        determined_on=_date(form.get("determined_on")),
        handling=[str(v) for v in form.getlist("handling")],
        follow_up=_text(form.get("follow_up")),
        followed_up_on=_date(form.get("followed_up_on")),
        note=_text(form.get("note")),
    )


@router.post("/console/bullying/{case_id}")
async def register_save(
    request: Request,
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token") or ""))
    case = await _editable_case(session, staff, case_id)
    try:
        await bullying.save(session, case, staff.id, _entry(form))
    except bullying.RegisterError as exc:
        row = await bullying.row_for(session, case)
        response = _render(
            request,
            "registers/bullying_form.html",
            staff,
            row=row,
            bw=_register_words(),
            error=str(exc),
        )
        response.status_code = 400
        return response
    return RedirectResponse("/console/bullying?msg=saved", status_code=303)


@router.get("/console/statistics/deliveries/{send_id}/{name}")
async def delivered_file(
    send_id: int,
    name: str,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """A file kept by a scheduled delivery: the notice links here, behind the login."""
    perm.require(access.can_view_statistics(staff))
    send = await session.get(ScheduledSend, send_id)
    if send is None or name not in FILES or name not in send.files:
        raise HTTPException(status_code=404, detail=_said("no_file"))
    owner = await read.org_by_id(session, send.org_id)
    if owner is None or not access.in_scope(staff, owner):
        raise HTTPException(status_code=404, detail=_said("no_file"))
    path = delivery_folder(owner.code, send.month, send.day) / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail=_said("no_file"))
    await audit.record(
        session, f"staff:{staff.id}", "statistics.downloaded", "register_send", send.id, file=name
    )
    media = exports.XLSX if name.endswith(".xlsx") else CSV
    return _download(path.read_bytes(), f"{owner.code}-{send.month}-{send.day:02d}-{name}", media)

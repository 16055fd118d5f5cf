"""Console routes: the queue, take-next, claim, release, reassign."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.web import check_csrf
from triage import permissions as perm
from triage import queue
from triage.deps import DbSession, current_staff
from triage.models import Organisation, StaffUser
from triage.pages import back_to, render

_said = section_text("triage", "refusals")  # words from data/triage/texts.yaml

router = APIRouter(prefix="/console")


def _opt(value: str | None) -> str | None:
    return value.strip() or None if value else None


def queue_filters(
    school: str | None = Query(None, max_length=32),
    category: str | None = Query(None, max_length=32),
    urgency: str | None = Query(None, max_length=16),
    status: str | None = Query(None, max_length=24),
    mine: bool = False,
    overdue: bool = False,
    page: int = Query(1, ge=1, le=100_000),
    q: str | None = Query(None, max_length=200),
) -> queue.QueueFilters:
    """The queue page's filters and search, as the page and its live poll both read them."""
    return queue.QueueFilters(
        _opt(school),
        _opt(category),
        _opt(urgency),
        _opt(status),
        mine,
        overdue,
        page,
        queue.search_term(q),
    )


@router.get("/queue")
async def queue_page(
    request: Request,
    filters: queue.QueueFilters = Depends(queue_filters),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(perm.can_use_queue(staff))
    version = await queue.fingerprint(session, staff, filters)
    result = await queue.list_queue(session, staff, filters)
    schools = (
        await session.execute(
            select(Organisation.code, Organisation.name)
            .where(perm.scope_org_clause(staff, Organisation.id))
            .order_by(Organisation.code)
        )
    ).all()
    # The search term is not recorded (it may be words of a message): only that one was made.
    searched = {"search": result.search.kind} if result.search else {}
    await audit.record(
        session,
        f"staff:{staff.id}",
        "queue.viewed",
        "queue",
        "",
        shown=len(result.cases),
        **searched,
    )
    return render(
        request,
        "console/queue.html",
        staff,
        result=result,
        filters=filters,
        schools=schools,
        can_see=lambda case: perm.can_view_content(staff, case),
        can_take=perm.can_take_next(staff),
        can_search_text=perm.can_search_text(staff),
        version=version,
        live_query=request.url.query,
        msg=request.query_params.get("msg"),
    )


@router.get("/queue/live")
async def queue_live(
    filters: queue.QueueFilters = Depends(queue_filters),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """What the queue page's script polls: a hash of what the page would list now (no case
    data, no text). When it differs from the page's, the script fetches the page again."""
    perm.require(perm.can_use_queue(staff))
    return JSONResponse({"version": await queue.fingerprint(session, staff, filters)})


@router.post("/queue/next")
async def take_next(
    request: Request,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    perm.require(perm.can_take_next(staff))
    case = await queue.take_next(session, staff)
    if case is None:
        return back_to("/console/queue", "queue_empty")
    return back_to(f"/console/cases/{case.id}", "taken")


@router.post("/cases/{case_id}/claim")
async def claim(
    request: Request,
    case_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    case = await perm.visible_case(session, staff, case_id)
    perm.require(perm.can_claim(staff, case))
    try:
        await queue.claim(session, staff, case)
    except queue.QueueConflict as exc:
        raise HTTPException(status_code=409, detail=_said("taken_by_other")) from exc
    return back_to(f"/console/cases/{case.id}", "claimed")


@router.post("/cases/{case_id}/release")
async def release(
    request: Request,
    case_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    case = await perm.visible_case(session, staff, case_id)
    perm.require(perm.can_release(staff, case))
    await queue.release(session, staff, case)
    return back_to("/console/queue", "released")


@router.post("/cases/{case_id}/reassign")
async def reassign(
    request: Request,
    case_id: int,
    assignee: int = Form(...),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    case = await perm.visible_case(session, staff, case_id)
    perm.require(perm.can_reassign(staff, case))
    target = await session.get(StaffUser, assignee)
    if target is None:
        raise HTTPException(status_code=400, detail=_said("choose_assignee"))
    try:
        await queue.reassign(session, staff, case, target)
    except queue.QueueConflict as exc:
        raise HTTPException(status_code=400, detail=_said("cannot_assign")) from exc
    return back_to(f"/console/cases/{case.id}", "reassigned")

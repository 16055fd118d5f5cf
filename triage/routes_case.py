"""Console routes: the case page and what a counsellor does on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.vocabulary import FORM_FIELD_CHARS
from helpline.web import check_csrf, csrf_ok, csrf_token
from triage import caseview, casework, queue
from triage import permissions as perm
from triage.deps import DbSession, current_staff
from triage.hooks import close_blockers, hooks
from triage.models import Case, CaseStatus, Reporter, StaffUser
from triage.pages import back_to, render

_said = section_text("triage", "refusals")  # words from data/triage/texts.yaml

router = APIRouter(prefix="/console/cases")


async def _panels(session: AsyncSession, case: Case, staff: StaffUser, csrf: str) -> list[object]:
    """HTML fragments from higher layers (the escalation panel), each deciding what to show.

    A panel returns markupsafe.Markup (rendered as HTML) or None; a plain str is escaped.
    """
    fragments = [await panel(session, case, staff, csrf) for panel in hooks.case_panels]
    return [f for f in fragments if f]


@router.get("/{case_id}")
async def case_page(
    request: Request,
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    return await _case_page(request, staff, session, case_id)


async def _case_page(
    request: Request,
    staff: StaffUser,
    session: AsyncSession,
    case_id: int,
    status_code: int = 200,
    msg: str | None = None,
    drafts: dict[str, str] | None = None,
) -> Response:
    """The case page; `drafts` refills the reply or note box after a refused post."""
    case = await perm.visible_case(session, staff, case_id)
    content = perm.can_view_content(staff, case)
    version = await caseview.fingerprint(session, case, content)
    await audit.record(
        session, f"staff:{staff.id}", "case.viewed", "case", case.id, content=content
    )
    context: dict[str, object] = {
        "case": case,
        "content": content,
        "panels": await _panels(session, case, staff, csrf_token(request)),
        "can_claim": perm.can_claim(staff, case) and case.assignee_id is None,
        "can_release": perm.can_release(staff, case) and case.assignee_id is not None,
        "can_reassign": perm.can_reassign(staff, case),
        "can_act": perm.can_act(staff, case) and case.status != CaseStatus.closed,
        "can_note": perm.can_add_note(staff, case) and case.status != CaseStatus.closed,
        "msg": msg or request.query_params.get("msg"),
        "drafts": drafts or {},
        "version": version,
    }
    names = await caseview.staff_names(session, {case.assignee_id} - {None})  # type: ignore[arg-type]
    context["assignee"] = names.get(case.assignee_id or 0, "")
    if content:
        context.update(
            messages=await caseview.messages(session, case),
            # The contact or call-back the reporter left (decrypted only for content readers).
            reporter=await session.get(Reporter, case.reporter_id),
            analysis=caseview.analysis(case),
            elements=casework.report_elements(case),
            **_timeline(await caseview.timeline(session, case.id), request),
            merge_candidates=await casework.merge_candidates(session, case),
            outcomes=casework.outcomes(),
            blockers=await close_blockers(session, case)
            if case.status != CaseStatus.closed
            else [],
        )
    if context["can_reassign"]:
        context["assignable"] = await queue.assignable_staff(session, case)
    return render(request, "console/case.html", staff, status_code, **context)


@router.get("/{case_id}/live")
async def case_live(
    case_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """What the case page's script polls: a hash of what the page shows (nothing of the case
    itself), for whoever may see the case's row. When it changed, the script fetches the page
    again (recorded as a view, as a reload is) and swaps in its changed parts."""
    case = await perm.visible_case(session, staff, case_id)
    content = perm.can_view_content(staff, case)
    return JSONResponse({"version": await caseview.fingerprint(session, case, content)})


async def _expired(
    request: Request, staff: StaffUser, session: AsyncSession, case_id: int, box: str, text: str
) -> Response:
    """A reply or note whose form token no longer holds (signed in again elsewhere, page open
    since before): the page again, the typed text back in its box, a fresh token, nothing
    saved. Sent once more, it goes through."""
    return await _case_page(
        request, staff, session, case_id, status_code=403, msg="form_expired", drafts={box: text}
    )


def _timeline(entries: list[caseview.TimelineEntry], request: Request) -> dict[str, object]:
    """What happened to the case; views only when asked for (they stay in the audit log)."""
    if request.query_params.get("views") == "all":
        return {"timeline": entries, "views_hidden": 0, "views_shown": True}
    shown = [e for e in entries if not caseview.is_view(e)]
    return {"timeline": shown, "views_hidden": len(entries) - len(shown), "views_shown": False}


Action = Callable[[AsyncSession, StaffUser, Case], Awaitable[str | None]]


async def _act(
    request: Request,
    csrf: str,
    staff: StaffUser,
    session: AsyncSession,
    case_id: int,
    do: Action,
    allowed: Callable[[StaffUser, Case], bool] = perm.can_act,
) -> Response:
    """CSRF, visibility (404), permission to act (403), then the action; errors become 400/409."""
    check_csrf(request, csrf)
    case = await perm.visible_case(session, staff, case_id)
    perm.require(allowed(staff, case))
    if case.status == CaseStatus.closed:
        raise HTTPException(status_code=409, detail=_said("case_closed"))
    try:
        msg = await do(session, staff, case)
    except casework.CaseworkError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except queue.QueueConflict as exc:
        raise HTTPException(status_code=409, detail=_said("assigned_to_other")) from exc
    return back_to(f"/console/cases/{case.id}", msg)


@router.post("/{case_id}/reply")
async def reply(
    request: Request,
    case_id: int,
    text: str = Form(..., max_length=FORM_FIELD_CHARS),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    if not csrf_ok(request, csrf_token_field):
        return await _expired(request, staff, session, case_id, "reply", text)

    async def do(s: AsyncSession, st: StaffUser, case: Case) -> str:
        await casework.reply(s, st, case, text)
        return "replied"

    return await _act(request, csrf_token_field, staff, session, case_id, do)


@router.post("/{case_id}/note")
async def note(
    request: Request,
    case_id: int,
    text: str = Form(..., max_length=FORM_FIELD_CHARS),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    if not csrf_ok(request, csrf_token_field):
        return await _expired(request, staff, session, case_id, "note", text)

    async def do(s: AsyncSession, st: StaffUser, case: Case) -> str:
        # The hotline operator adds to their call without taking it.
        await casework.add_note(s, st, case, text, take=perm.can_act(st, case))
        return "noted"

    return await _act(
        request, csrf_token_field, staff, session, case_id, do, allowed=perm.can_add_note
    )


@router.post("/{case_id}/labels")
async def relabel(
    request: Request,
    case_id: int,
    labels: list[str] = Form(default_factory=list),
    urgency: str = Form(..., max_length=16),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    async def do(s: AsyncSession, st: StaffUser, case: Case) -> str:
        await casework.relabel(s, st, case, labels[:10], urgency)
        return "relabelled"

    return await _act(request, csrf_token_field, staff, session, case_id, do)


@router.post("/{case_id}/close")
async def close(
    request: Request,
    case_id: int,
    outcome: str = Form("", max_length=64),
    disposition: str = Form("", max_length=4000),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    async def do(s: AsyncSession, st: StaffUser, case: Case) -> str:
        # Blocked: the case waits in "awaiting report"; the page lists the reports still due.
        blocked = await casework.close_case(s, st, case, outcome, disposition)
        return "close_blocked" if blocked else "closed"

    return await _act(request, csrf_token_field, staff, session, case_id, do)


@router.post("/{case_id}/merge")
async def merge(
    request: Request,
    case_id: int,
    other: int = Form(...),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    async def do(s: AsyncSession, st: StaffUser, case: Case) -> str:
        source = await perm.visible_case(s, st, other)
        perm.require(perm.can_act(st, source))
        await casework.merge(s, st, case, source)
        return "merged"

    return await _act(request, csrf_token_field, staff, session, case_id, do)

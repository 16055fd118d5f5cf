"""The console's duty-roster pages (issue 17): the week grid of each organisation in the
administrator's scope, its shifts edited in place, holiday shifts, overrides. Plain forms
(post/redirect/get): every page works without JavaScript."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import coverage, roster_edit, school_edit
from escalation.web import render
from helpline.web import DbSession, check_csrf
from triage import admin
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import Organisation, StaffUser

router = APIRouter(prefix="/console/admin/rosters")


async def _org(session: AsyncSession, staff: StaffUser, code: str) -> Organisation:
    """The organisation if it lies in the administrator's scope (403 for other roles)."""
    perm.require(perm.can_administer(staff))
    for org in await admin.orgs_in_scope(session, staff):
        if org.code == code:
            return org
    raise HTTPException(status_code=404, detail=roster_edit.words()["no_org"])


@router.get("")
async def rosters(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(perm.can_administer(staff))
    orgs = await admin.orgs_in_scope(session, staff)
    return render(request, "escalation/rosters.html", staff, orgs=orgs)


async def _page(
    request: Request,
    staff: StaffUser,
    session: AsyncSession,
    org: Organisation,
    status_code: int = 200,
    reasons: list[str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    """The roster page; after a refusal (400) with the reasons and what was typed, keyed by
    the form it was typed into ("new", a shift id, "override")."""
    setup = await coverage.from_db(session)
    days, grid = roster_edit.week_grid(setup, org.code)
    people = await roster_edit.candidates(session, org)
    names = {p.id: p for p in people.values()}
    msg = request.query_params.get("msg")
    return render(
        request,
        "escalation/roster.html",
        staff,
        status_code=status_code,
        org=org,
        days=days,
        grid=grid,
        shifts=await roster_edit.shifts(session, org),
        overrides=await roster_edit.overrides(session, org),
        people=list(people.values()),
        names=names,
        day_keys=roster_edit.DAY_KEYS,
        day_names=coverage.words()["day_types"],
        notice=roster_edit.words()["messages"].get(msg or ""),
        reasons=reasons or [],
        refused_lead=roster_edit.words()["refused"],
        typed=typed or {},
    )


@router.get("/{code}")
async def roster_page(
    request: Request,
    code: str,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    org = await _org(session, staff, code)
    return await _page(request, staff, session, org)


def _done(org: Organisation, msg: str) -> Response:
    return RedirectResponse(f"/console/admin/rosters/{org.code}?msg={msg}", status_code=303)


def _shift_fields(
    person: str = Form("", max_length=64),
    days: list[str] = Form([]),  # noqa: B008 - FastAPI's form declaration
    start: str = Form("", max_length=8),
    end: str = Form("", max_length=8),
) -> dict[str, Any]:
    """A shift form's fields, as typed (shown again after a refusal)."""
    return {"person": person, "days": days, "start": start, "end": end}


ShiftFields = Depends(_shift_fields)
Change = Callable[[], Awaitable[str]]


async def _apply(
    request: Request,
    staff: StaffUser,
    session: AsyncSession,
    org: Organisation,
    typed: dict[Any, dict[str, Any]],
    change: Change,
) -> Response:
    """Make the change and redirect with its message; a refusal is the page again (400)."""
    try:
        msg = await change()
    except roster_edit.ChangeRefused as refused:
        return await _page(request, staff, session, org, 400, refused.reasons, typed)
    return _done(org, msg)


@router.post("/{code}/shifts")
async def add_shift(
    request: Request,
    code: str,
    fields: dict[str, Any] = ShiftFields,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    org = await _org(session, staff, code)

    async def change() -> str:
        people = await roster_edit.candidates(session, org)
        form = roster_edit.clean_shift(people, **fields)
        await roster_edit.add_shift(session, staff, org, form)
        return "shift_added"

    return await _apply(request, staff, session, org, {"new": fields}, change)


@router.post("/{code}/shifts/{shift_id}")
async def change_shift(
    request: Request,
    code: str,
    shift_id: int,
    action: str = Form("save", max_length=16),
    fields: dict[str, Any] = ShiftFields,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Save a shift's new values, or (action=remove) remove it; either is checked first."""
    check_csrf(request, csrf_token)
    org = await _org(session, staff, code)

    async def change() -> str:
        if action == "remove":
            await roster_edit.remove_shift(session, staff, org, shift_id)
            return "shift_removed"
        people = await roster_edit.candidates(session, org)
        form = roster_edit.clean_shift(people, **fields)
        await roster_edit.change_shift(session, staff, org, shift_id, form)
        return "shift_saved"

    return await _apply(request, staff, session, org, {shift_id: fields}, change)


@router.post("/{code}/overrides")
async def add_override(
    request: Request,
    code: str,
    person: str = Form("", max_length=64),
    starts: str = Form("", max_length=32),
    ends: str = Form("", max_length=32),
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    org = await _org(session, staff, code)

    async def change() -> str:
        await roster_edit.add_override(session, staff, org, person, starts, ends)
        return "override_added"

    typed = {"override": {"person": person, "starts": starts, "ends": ends}}
    return await _apply(request, staff, session, org, typed, change)


@router.post("/{code}/overrides/{override_id}/remove")
async def remove_override(
    request: Request,
    code: str,
    override_id: int,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    org = await _org(session, staff, code)

    async def change() -> str:
        await roster_edit.remove_override(session, staff, org, override_id)
        return "override_removed"

    return await _apply(request, staff, session, org, {}, change)


@router.get("/{code}/school")
async def school_page(
    request: Request,
    code: str,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    return await _school_page(request, staff, session, await _school(session, staff, code))


async def _school(session: AsyncSession, staff: StaffUser, code: str) -> Organisation:
    org = await _org(session, staff, code)
    if not school_edit.is_school(org):
        raise HTTPException(status_code=404, detail=roster_edit.words()["no_school"])
    return org


async def _school_page(
    request: Request,
    staff: StaffUser,
    session: AsyncSession,
    school: Organisation,
    status_code: int = 200,
    reasons: list[str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    people, channels = await school_edit.contacts(session, school)
    msg = request.query_params.get("msg")
    return render(
        request,
        "escalation/school.html",
        staff,
        status_code=status_code,
        school=school,
        district=await session.get(Organisation, school.parent_id),
        people=people,
        channels=channels,
        values=typed or {"name": school.name, "fallback": bool(school.coverage_fallback)},
        notice=roster_edit.words()["messages"].get(msg or ""),
        reasons=reasons or [],
        refused_lead=roster_edit.words()["refused"],
    )


@router.post("/{code}/school")
async def save_school(
    request: Request,
    code: str,
    name: str = Form("", max_length=400),
    fallback: bool = Form(False),
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    school = await _school(session, staff, code)
    try:
        await school_edit.save(session, staff, school, name, fallback)
    except school_edit.ChangeRefused as refused:
        typed = {"name": name, "fallback": fallback}
        return await _school_page(request, staff, session, school, 400, refused.reasons, typed)
    return RedirectResponse(
        f"/console/admin/rosters/{school.code}/school?msg=school_saved", status_code=303
    )

"""Console routes for administrators: schools, staff accounts and roles, response targets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.web import check_csrf
from triage import admin, grants
from triage import permissions as perm
from triage.deps import DbSession, current_staff
from triage.models import Role, StaffUser
from triage.pages import back_to, render
from triage.policy import URGENCY_ORDER, default_minutes, effective_minutes
from triage.qr import qr_data_uri

router = APIRouter(prefix="/console/admin")


def _admin_only(request: Request, csrf: str | None, staff: StaffUser) -> None:
    if csrf is not None:
        check_csrf(request, csrf)
    perm.require(perm.can_administer(staff))


async def _guarded(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (admin.AdminError, grants.GrantError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/schools")
async def schools(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, None, staff)
    orgs = await admin.orgs_in_scope(session, staff)
    return render(
        request, "console/admin_schools.html", staff, orgs=orgs, msg=request.query_params.get("msg")
    )


@router.post("/schools")
async def add_school(
    request: Request,
    code: str = Form(..., max_length=32),
    name: str = Form(..., max_length=200),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, csrf_token_field, staff)
    await _guarded(admin.create_school(session, staff, code, name))
    return back_to("/console/admin/schools", "school_added")


@router.get("/staff")
async def staff_list(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, None, staff)
    people = await admin.staff_in_scope(session, staff)
    return render(
        request,
        "console/admin_staff.html",
        staff,
        people=people,
        names={p.id: p.username for p in people},
        pending=await grants.pending_in_scope(session, staff),
        orgs=await admin.orgs_in_scope(session, staff),
        roles=list(Role),
        msg=request.query_params.get("msg"),
    )


@router.post("/staff")
async def add_staff(
    request: Request,
    username: str = Form(..., max_length=64),
    display_name: str = Form(..., max_length=100),
    role: str = Form(..., max_length=32),
    org: str = Form(..., max_length=32),
    email: str = Form("", max_length=200),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, csrf_token_field, staff)
    created, password, uri = await _guarded(
        admin.create_staff(session, staff, username, display_name, role, org, email)
    )
    if password is None:
        return back_to("/console/admin/staff", "grant_requested")
    # The password and the TOTP key are shown once, on this page, and never stored in clear.
    return render(
        request,
        "console/admin_secret.html",
        staff,
        person=created,
        password=password,
        totp_uri=uri,
        totp_qr=qr_data_uri(uri) if uri else None,
    )


async def _target(session: AsyncSession, staff: StaffUser, staff_id: int) -> StaffUser:
    try:
        return await admin.staff_for_admin(session, staff, staff_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="没有找到这个账号。") from exc


StaffAction = Callable[[AsyncSession, StaffUser, StaffUser], Awaitable[Any]]


async def _staff_action(
    request: Request,
    csrf: str,
    staff: StaffUser,
    session: AsyncSession,
    staff_id: int,
    do: StaffAction,
) -> Any:
    _admin_only(request, csrf, staff)
    target = await _target(session, staff, staff_id)
    return await _guarded(do(session, staff, target))


@router.post("/staff/{staff_id}/active")
async def set_active(
    request: Request,
    staff_id: int,
    active: bool = Form(...),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    async def do(s: AsyncSession, a: StaffUser, t: StaffUser) -> bool:
        return await admin.set_active(s, a, t, active)

    done = await _staff_action(request, csrf_token_field, staff, session, staff_id, do)
    return back_to("/console/admin/staff", "staff_updated" if done else "grant_requested")


async def _issuing(
    request: Request,
    csrf: str,
    staff: StaffUser,
    session: AsyncSession,
    staff_id: int,
    do: StaffAction,
) -> Response:
    """An action that hands out new credentials (shown once), or files a four-eyes request."""
    issued = await _staff_action(request, csrf, staff, session, staff_id, do)
    if issued is None:
        return back_to("/console/admin/staff", "grant_requested")
    return _issued_page(request, staff, issued)


@router.post("/staff/{staff_id}/password")
async def reset_password(
    request: Request,
    staff_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    return await _issuing(request, csrf_token_field, staff, session, staff_id, admin.reset_password)


@router.post("/staff/{staff_id}/totp")
async def reset_totp(
    request: Request,
    staff_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """A lost phone (and lost recovery codes): new key and one-time password, shown once."""
    return await _issuing(request, csrf_token_field, staff, session, staff_id, admin.reset_totp)


def _issued_page(request: Request, staff: StaffUser, issued: grants.Issued) -> Response:
    return render(
        request,
        "console/admin_secret.html",
        staff,
        person=issued.person,
        password=issued.password,
        totp_uri=issued.totp_uri,
        totp_qr=qr_data_uri(issued.totp_uri) if issued.totp_uri else None,
    )


@router.post("/staff/{staff_id}/role")
async def set_role(
    request: Request,
    staff_id: int,
    role: str = Form(..., max_length=32),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    async def do(s: AsyncSession, a: StaffUser, t: StaffUser) -> bool:
        return await admin.set_role(s, a, t, role)

    done = await _staff_action(request, csrf_token_field, staff, session, staff_id, do)
    return back_to("/console/admin/staff", "staff_updated" if done else "grant_requested")


async def _grant(call: Awaitable[Any]) -> Any:
    try:
        return await _guarded(call)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="没有找到这项申请。") from exc


@router.post("/grants/{grant_id}/approve")
async def approve_grant(
    request: Request,
    grant_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """The second administrator approves; new credentials are shown to them once."""
    _admin_only(request, csrf_token_field, staff)
    issued = await _grant(grants.approve(session, staff, grant_id))
    if issued.password is None and issued.totp_uri is None:
        return back_to("/console/admin/staff", "grant_approved")
    return _issued_page(request, staff, issued)


@router.post("/grants/{grant_id}/refuse")
async def refuse_grant(
    request: Request,
    grant_id: int,
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, csrf_token_field, staff)
    await _grant(grants.refuse(session, staff, grant_id))
    return back_to("/console/admin/staff", "grant_refused")


@router.get("/targets")
async def targets(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, None, staff)
    return render(
        request,
        "console/admin_targets.html",
        staff,
        minutes=await effective_minutes(session),
        defaults=default_minutes(),
        order=URGENCY_ORDER,
        msg=request.query_params.get("msg"),
    )


@router.post("/targets")
async def save_targets(
    request: Request,
    emergency: int = Form(..., ge=1),
    high: int = Form(..., ge=1),
    medium: int = Form(..., ge=1),
    low: int = Form(..., ge=1),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    _admin_only(request, csrf_token_field, staff)
    minutes = {"emergency": emergency, "high": high, "medium": medium, "low": low}
    await _guarded(admin.save_targets(session, staff, minutes))
    return back_to("/console/admin/targets", "targets_saved")

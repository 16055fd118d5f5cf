"""A staff member's own account: their password (set at first sign-in, issue 17) and their
recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.web import SESSION_COOKIE, check_csrf
from triage import recovery
from triage.auth import close_other_sessions
from triage.deps import DbSession, current_staff, signed_in_staff
from triage.models import StaffUser
from triage.pages import back_to, render
from triage.passwords import hash_password, password_ok, policy, refusal

router = APIRouter(prefix="/console/account")


@router.get("")
async def account(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    return render(
        request,
        "console/account.html",
        staff,
        codes_left=await recovery.unused(session, staff),
        msg=request.query_params.get("msg"),
    )


def _password_form(
    request: Request, staff: StaffUser, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "console/password.html",
        staff,
        status_code=status_code,
        error=error,
        forced=staff.password_must_change,
        min_length=policy()["min_length"],
    )


@router.get("/password")
async def password_form(request: Request, staff: StaffUser = Depends(signed_in_staff)) -> Response:
    return _password_form(request, staff)


@router.post("/password")
async def change_password(
    request: Request,
    current: str = Form(..., max_length=256),
    new: str = Form(..., max_length=1024),
    repeat: str = Form(..., max_length=1024),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(signed_in_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Set one's own password. After a forced change an account with an authenticator gets its
    recovery codes, shown once on the answer."""
    check_csrf(request, csrf_token_field)
    says = policy()["messages"]
    if not password_ok(staff.password_hash, current):
        error: str | None = says["wrong_current"]
    elif new != repeat:
        error = says["mismatch"]
    else:
        error = refusal(new, staff.username, staff.password_hash)
    if error is not None:
        return _password_form(request, staff, error, status_code=400)
    forced = staff.password_must_change
    staff.password_hash, staff.password_must_change = hash_password(new), False
    # Other sessions of the account end (whoever held the old password is signed out).
    await close_other_sessions(session, staff, request.cookies.get(SESSION_COOKIE))
    await audit.record(
        session, f"staff:{staff.id}", "password.changed", "staff", staff.id, forced=forced
    )
    if forced and staff.totp_secret:
        codes = await recovery.generate(session, staff)
        return render(request, "console/recovery_codes.html", staff, codes=codes, first=True)
    return back_to("/console/account", "password_changed")


@router.post("/recovery-codes")
async def new_recovery_codes(
    request: Request,
    current: str = Form(..., max_length=256),
    csrf_token_field: str = Form("", alias="csrf_token"),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """New recovery codes (the old ones stop working), after the password is typed again."""
    check_csrf(request, csrf_token_field)
    if not staff.totp_secret:
        return back_to("/console/account", "no_totp")
    if not password_ok(staff.password_hash, current):
        return render(
            request,
            "console/account.html",
            staff,
            status_code=400,
            codes_left=await recovery.unused(session, staff),
            error=policy()["messages"]["wrong_current"],
        )
    codes = await recovery.generate(session, staff)
    return render(request, "console/recovery_codes.html", staff, codes=codes, first=False)

"""The staff console: sign-in and the home page (queue and case pages build on this)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import ratelimit
from helpline.datafiles import section_text
from helpline.web import check_csrf, client_address, cookie_secure, csrf_token, templates_for
from triage.auth import authenticate, close_session, open_session
from triage.deps import SESSION_COOKIE, DbSession, current_staff
from triage.models import StaffUser

router = APIRouter(prefix="/console")
templates = templates_for(Path(__file__).parent / "templates")
# Why a sign-in was refused (data/triage/texts.yaml `login`): one answer for a wrong name,
# password or code and a missing code, so that none confirms a password.
_login_refused = section_text("triage", "login")


_CSS = Path(__file__).parent / "static" / "console.css"
_LIVE = Path(__file__).parent / "static" / "live.js"
LIVE_SCRIPT = "/console/assets/live.js"


@router.get("/assets/console.css", include_in_schema=False)
async def console_css() -> Response:
    # The shared /static mount is the kernel's; the console's own stylesheet is served here.
    return FileResponse(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/assets/live.js", include_in_schema=False)
async def live_script() -> Response:
    """The live queue and case pages and the ticking countdowns (progressive enhancement)."""
    return FileResponse(_LIVE, media_type="text/javascript")


@router.get("/login")
async def login_form(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "console/login.html", {"csrf": csrf_token(request), "error": None}
    )


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(max_length=64),
    password: str = Form(max_length=256),
    totp: str = Form("", max_length=12),
    csrf_token_field: str = Form("", alias="csrf_token"),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    if not await ratelimit.hit(session, "login", client_address(request), 20, 600):
        reason = "rate_limited"
    else:
        result = await authenticate(
            session, username, password, totp or None, client_address(request)
        )
        if result.staff is not None:
            token = await open_session(session, result.staff)
            response = RedirectResponse("/console", status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=cookie_secure(request),
                path="/",
            )
            return response
        reason = result.reason
    return templates.TemplateResponse(
        request,
        "console/login.html",
        {"csrf": csrf_token(request), "error": _login_refused(reason), "username": username},
        status_code=401,
    )


@router.post("/logout")
async def logout(
    request: Request,
    csrf_token_field: str = Form("", alias="csrf_token"),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token_field)
    await close_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("")
async def home(request: Request, staff: StaffUser = Depends(current_staff)) -> Response:
    from triage.pages import render

    return render(request, "console/home.html", staff)

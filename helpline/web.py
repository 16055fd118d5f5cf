"""Shared web plumbing: templates, CSRF tokens, client address, security headers."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.crypto import get_keyring, same
from helpline.db import get_session
from helpline.localtime import iso_utc, local_time, zone_name
from helpline.settings import get_settings
from helpline.vocabulary import MESSAGE_CHARS

CSRF_COOKIE = "hl_csrf"
SESSION_COOKIE = "hl_staff"  # the staff session (triage signs in; CSRF tokens bind to it)
CSRF_FIELD = "csrf_token"
TEMPLATE_DIRS = [Path(__file__).parent / "templates"]
STATIC_DIR = Path(__file__).parent / "static"  # served at /static by the app
# The request's database session, committed before the response is sent (FastAPI's default
# "request" scope commits after it: a browser following a post/redirect/get could read the
# page before the change was committed, and a failed commit would go unnoticed).
DbSession = Depends(get_session, scope="function")
# Scripts that every signed-in console page loads; a higher layer adds its own through its
# plugin (escalation's live alerts, triage's live queue), so the layout names no package above
# the kernel. The kernel's own comes first: the others use it (polling, tone, notification).
LIVE_SCRIPT = "/static/live.js"
CONSOLE_SCRIPTS: list[str] = [LIVE_SCRIPT]


def templates_for(*extra_dirs: Path) -> Jinja2Templates:
    """Jinja2 with autoescaping on, searching the package's own folder first, then shared.

    Every environment gets the one date filter (`local`: service zone, with the date) and the
    zone's name (`zone_name()`), so all pages show time alike, and `iso_utc` for the times a
    page's script reads (the ticking countdowns).
    """
    templates = Jinja2Templates(directory=[*map(str, extra_dirs), *map(str, TEMPLATE_DIRS)])
    templates.env.filters["local"] = local_time
    templates.env.filters["iso_utc"] = iso_utc
    templates.env.globals["zone_name"] = zone_name
    templates.env.globals["console_scripts"] = CONSOLE_SCRIPTS
    templates.env.globals["message_chars"] = MESSAGE_CHARS  # maxlength of message boxes
    return templates


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the Secure flag. Behind a TLS-terminating proxy the request itself
    arrives as http: the public address decides, so no cookie travels over plain http."""
    public = get_settings().public_url.lower().startswith("https://")
    return public or request.url.scheme == "https"


def _token_for(seed: str, staff_session: str) -> str:
    # Bound to the visitor's cookie and, once signed in, to the staff session: a token taken
    # from another browser or another session is worth nothing here.
    return get_keyring().keyed_hash("csrf", f"{seed}\x00{staff_session}")


def csrf_token(request: Request) -> str:
    """The form token for this browser and its session."""
    return _token_for(request.state.csrf_seed, request.cookies.get(SESSION_COOKIE, ""))


def csrf_ok(request: Request, submitted: str | None) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted or not _seed_is_ours(seed):
        return False
    expected = _token_for(seed, request.cookies.get(SESSION_COOKIE, ""))
    return same(expected, submitted)


def check_csrf(request: Request, submitted: str | None) -> None:
    if not csrf_ok(request, submitted):
        raise HTTPException(status_code=403, detail="表单已过期，请刷新页面后重新提交。")


def _new_seed() -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{get_keyring().keyed_hash('csrf-seed', nonce)[:32]}"


def _seed_is_ours(seed: str) -> bool:
    """Only seeds this service issued count: a cookie planted by someone else is replaced."""
    nonce, _, mac = seed.partition(".")
    if not nonce or len(seed) > 80:
        return False
    return same(get_keyring().keyed_hash("csrf-seed", nonce)[:32], mac)


STAFF_PREFIXES = ("/console", "/escalation")


def is_staff_path(path: str) -> bool:
    """Pages for staff: their error pages carry no help-line numbers meant for children."""
    return any(path == p or path.startswith(p + "/") for p in STAFF_PREFIXES)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


class SecurityHeaders:
    """CSRF seed cookie on every response, and headers that keep pages private.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware reads the body in a task group, so
    a refusal raised while reading it (413, see helpline.boundary) would reach the app wrapped
    in an ExceptionGroup, past its handlers, as a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        seed = request.cookies.get(CSRF_COOKIE)
        new_seed = None
        if not seed or not _seed_is_ours(seed):
            seed = new_seed = _new_seed()
        request.state.csrf_seed = seed

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if new_seed:
                    cookie = Response()
                    cookie.set_cookie(
                        CSRF_COOKIE,
                        new_seed,
                        httponly=True,
                        samesite="strict",
                        secure=cookie_secure(request),
                    )
                    headers.append("set-cookie", cookie.headers["set-cookie"])
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

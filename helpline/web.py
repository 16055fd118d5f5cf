"""Shared web plumbing: templates, CSRF tokens, client address, security headers."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from helpline.crypto import get_keyring
from helpline.db import get_session
from helpline.settings import get_settings

CSRF_COOKIE = "hl_csrf"
CSRF_FIELD = "csrf_token"
TEMPLATE_DIRS = [Path(__file__).parent / "templates"]
# The request's database session, committed before the response is sent (FastAPI's default
# "request" scope commits after it: a browser following a post/redirect/get could read the
# page before the change was committed, and a failed commit would go unnoticed).
DbSession = Depends(get_session, scope="function")
# Scripts that every signed-in console page loads; a higher layer adds its own through its
# plugin (escalation's live alerts), so the layout names no package above the kernel.
CONSOLE_SCRIPTS: list[str] = []


def templates_for(*extra_dirs: Path) -> Jinja2Templates:
    """Jinja2 with autoescaping on, searching the package's own folder first, then shared."""
    templates = Jinja2Templates(directory=[*map(str, extra_dirs), *map(str, TEMPLATE_DIRS)])
    templates.env.globals["console_scripts"] = CONSOLE_SCRIPTS
    return templates


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the Secure flag. Behind a TLS-terminating proxy the request itself
    arrives as http: the public address decides, so no cookie travels over plain http."""
    public = get_settings().public_url.lower().startswith("https://")
    return public or request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """The form token for this browser: an HMAC of its random CSRF cookie."""
    seed = request.state.csrf_seed
    return get_keyring().keyed_hash("csrf", seed)


def check_csrf(request: Request, submitted: str | None) -> None:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted:
        raise HTTPException(status_code=403, detail="表单已过期，请刷新页面后重新提交。")
    expected = get_keyring().keyed_hash("csrf", seed)
    if not hmac.compare_digest(expected, submitted):
        raise HTTPException(status_code=403, detail="表单已过期，请刷新页面后重新提交。")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class SecurityHeaders(BaseHTTPMiddleware):
    """CSRF seed cookie on every response, and headers that keep pages private."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        seed = request.cookies.get(CSRF_COOKIE)
        new_seed = None
        if not seed or len(seed) > 64:
            seed = new_seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
        response = await call_next(request)
        if new_seed:
            response.set_cookie(
                CSRF_COOKIE,
                new_seed,
                httponly=True,
                samesite="strict",
                secure=cookie_secure(request),
            )
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return response

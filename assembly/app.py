"""The ASGI application factory: every package's routes, the middleware, the error pages, and the
background services started with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assembly import wiring
from helpline.accesslog import AccessLog, route_pattern
from helpline.boundary import Boundary, form_limits, limits
from helpline.datafiles import data_yaml
from helpline.db import dispose_engine
from helpline.settings import get_settings
from helpline.web import STATIC_DIR, SecurityHeaders, is_staff_path, templates_for

log = logging.getLogger(__name__)
_templates = templates_for(Path(__file__).parent / "templates")  # the error pages


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    wiring.wire_hooks()
    services = wiring.background_services() if get_settings().background_services else []
    tasks = [asyncio.create_task(start()) for start in services]
    log.info("service started", extra={"background_services": len(tasks)})
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dispose_engine()


def create_app() -> FastAPI:
    app = FastAPI(
        title="Student help line",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        form_limits=form_limits(),
    )
    # Added inside out. The boundary first: every layer above the routes sees clean input;
    # the headers around it, so its own 413 carries them; the access log outermost.
    app.add_middleware(Boundary, too_large=_too_large)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in wiring.routers():
        app.include_router(router)
    # Starlette's class: routing's own 404/405 are raised as that, not as FastAPI's subclass.
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Input the database cannot hold (an id past its integer range, say) is the request's
    # fault, not the service's: 400, never 500. SQLite's driver raises OverflowError itself;
    # asyncpg's comes wrapped in a DBAPIError, so that handler sorts by the driver's cause.
    app.add_exception_handler(OverflowError, _invalid_request)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _server_error)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith(
        "/api/"
    )


def _words() -> dict[str, Any]:
    return data_yaml("web", "errors.yaml")


def _help_lines() -> list[Any]:
    from bot.texts import hotlines

    lines, seen = [], set()
    for line in hotlines(None, "emergency") + hotlines(None, "child_protection"):
        if line.number not in seen:
            seen.add(line.number)
            lines.append(line)
    return lines


def _error_page(request: Request, status: int, detail: str = "") -> Response:
    # Never echo what was submitted: the page shows only our own fixed words.
    words = _words()
    title = words["titles"].get(status, words["titles"]["other"])
    detail = detail or words["details"].get(status, "")
    if _wants_json(request):
        return JSONResponse({"error": title, "detail": detail}, status_code=status)
    staff = is_staff_path(request.url.path)
    return _templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": title,
            "detail": detail,
            "staff_route": staff,
            "words": words,
            "help_lines": [] if staff else _help_lines(),
        },
        status_code=status,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 413:
        return _too_large(request)
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else ""
    if detail in {"Not Found", "Method Not Allowed"}:  # Starlette's English defaults
        detail = ""
    response = _error_page(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _too_large(request: Request) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": "内容太长"}, status_code=413)
    context = {
        "limit_kb": limits()["max_body_bytes"] // 1024,
        "public": not is_staff_path(request.url.path),
    }
    # The rest of the body was never read: the connection cannot carry another request.
    headers = {"Connection": "close"}
    return _templates.TemplateResponse(
        request, "too_large.html", context, status_code=413, headers=headers
    )


async def _invalid_request(request: Request, exc: Exception) -> Response:
    return _error_page(request, 400)


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if _input_out_of_range(exc):
        return _error_page(request, 400)
    return await _server_error(request, exc)


def _input_out_of_range(exc: DBAPIError) -> bool:
    if isinstance(exc, DataError):
        return True
    cause: BaseException | None = exc.orig
    while cause is not None:
        if isinstance(cause, OverflowError):
            return True
        cause = cause.__cause__
    return False


async def _server_error(request: Request, exc: Exception) -> Response:
    # The route's pattern, not the path: a path can carry a token (/escalation/ack/<token>).
    route = route_pattern(request.scope)
    log.error("unhandled error", extra={"route": route, "error": type(exc).__name__})
    return _error_page(request, 500)


__all__ = ["create_app", "HTMLResponse"]

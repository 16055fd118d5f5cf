"""An access log that names no one: method, route pattern, status and time only.

Uvicorn's own access log writes the client's address and the full path of every request (a
reporter's address and time of writing; the acknowledgement token in `/escalation/ack/<token>`).
It is switched off (`server_config`), and this line takes its place: the route's pattern
(`/escalation/ack/{token}`), never the path, query string or address.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.settings import get_settings

log = logging.getLogger("helpline.access")


def route_pattern(scope: Scope) -> str:
    """The matched route's pattern; "-" when nothing matched (the raw path may hold anything)."""
    route = scope.get("route")
    return str(getattr(route, "path", "-")) if route is not None else "-"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method", ""),
                    "route": route_pattern(scope),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


def server_config(app: Any, host: str, port: int) -> Any:
    """Uvicorn's settings for the service: no access log of its own (see above), its loggers
    through ours, and client addresses as the socket gives them, or as X-Forwarded-For gives
    them when the socket's peer is one of `trusted_proxies`."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, **server_options())


def server_options() -> dict[str, Any]:
    """What `server_config` sets besides the app and the address (also for several workers)."""
    proxies = get_settings().proxy_networks
    # uvicorn takes the right-most address of X-Forwarded-For that is not a trusted proxy.
    return {
        "log_config": None,
        "access_log": False,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }

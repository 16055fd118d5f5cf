"""Issue 16: the service's logs (run as `helpline serve` runs it: a real uvicorn server) never
hold a reporter's address or any part of a token."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import threading
import time

import httpx
import uvicorn

from assembly.app import create_app
from helpline.accesslog import server_config
from helpline.db import dispose_engine
from helpline.logs import configure_logging
from tests.support.processes import free_port
from tests.support.web import csrf_from

REPORTER = "127.0.0.2"  # the client's own address (the server listens on 127.0.0.1)


def _pieces(token: str, size: int = 8) -> list[str]:
    return [token[i : i + size] for i in range(len(token) - size + 1)]


async def test_no_address_and_no_token_in_the_logs(db_url: str) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    await dispose_engine()
    port = free_port()
    server = uvicorn.Server(server_config(create_app(), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            await asyncio.sleep(0.05)
        transport = httpx.AsyncHTTPTransport(local_address=REPORTER)
        base = f"http://127.0.0.1:{port}"
        ack_token = secrets.token_urlsafe(32)
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as child:
            page = await child.get("/report")
            sent = await child.post(
                "/report", data={"csrf_token": csrf_from(page.text), "what": "有人一直跟着我"}
            )
            assert sent.status_code == 200
            await child.get(f"/escalation/ack/{ack_token}")
            await child.get(f"/console/cases/1?token={ack_token}")
            await child.post("/report", content=b"x" * 70_000)  # a 413 is logged too
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 20)
        root.handlers, _ = saved
        root.setLevel(saved[1])
        await dispose_engine()
    logged = buffer.getvalue()
    assert '"route": "/report"' in logged, logged[-3000:]
    assert '"route": "/escalation/ack/{token}"' in logged
    assert '"status": 413' in logged
    assert REPORTER not in logged
    assert not [p for p in _pieces(ack_token) if p in logged]
    csrf_cookie = child.cookies.get("hl_csrf") or ""
    assert csrf_cookie and not [p for p in _pieces(csrf_cookie) if p in logged]

"""Shared support for browser tests: the real app on a real uvicorn server, headless Chromium.

    from tests.browser_support import live_server, chromium  # fixtures

`live_server` is an async function that starts the assembled app (lifespan on: hooks wired)
on 127.0.0.1 at a free port in a background thread, on the test's own database (`db_url`):
`server = await live_server()`; `await server.shutdown()` before checking the database
(else it stops at the end of the test). The server thread has its own
event loop, so the database engine is disposed before it starts and after it stops: the test
must not use the database while the server runs (set up before, check after).
`chromium` is a Playwright async Browser on Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self) -> None:
        import uvicorn

        from helpline.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    async def shutdown(self) -> None:
        """Stop serving (the app's lifespan disposes its engine): the test may use the
        database again afterwards. Safe to call twice."""
        await asyncio.to_thread(self.stop)


@pytest_asyncio.fixture
async def live_server(db_url: str) -> AsyncIterator[Callable[[], Awaitable[LiveServer]]]:
    """An async function that starts the server (call it after the test's database setup)."""
    from helpline.db import dispose_engine

    started: list[LiveServer] = []

    async def start() -> LiveServer:
        await dispose_engine()
        server = LiveServer()
        await asyncio.to_thread(server.start)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await asyncio.to_thread(server.stop)
        await dispose_engine()


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()

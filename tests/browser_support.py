"""Shared support for browser tests: the real app on a real uvicorn server, headless Chromium.

    from tests.browser_support import live_server, chromium  # fixtures

`live_server` is an async function that starts the assembled app (lifespan on: hooks wired)
on 127.0.0.1 at a free port in a background thread, on the test's own database (`db_url`):
`server = await live_server()`; `await server.shutdown()` before checking the database
(else it stops at the end of the test). The server thread has its own
event loop, so the database engine is disposed before it starts and after it stops: the test
must not use the database while the server runs (set up before, check after).
`chromium` is a Playwright async Browser on Debian's /usr/bin/chromium.
`sign_in(page, url, username)` signs a demo account in through the real login form.
`SOUND_AND_NOTIFICATION_STUBS` (an init script) counts the console's tones (`window.__tones`)
and records its desktop notifications (`window.__notes`) instead of making them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from tests.support.processes import free_port

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


class LiveServer:
    def __init__(self) -> None:
        import uvicorn

        from assembly.app import create_app

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


async def sign_in(page: Any, url: str, username: str) -> None:
    """Sign a demo account in on `page` through the real login form (password and an unused
    TOTP code), ending on the console's home page."""
    from tests.support.web import DEMO_PASSWORD, totp_now

    await page.goto(f"{url}/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_label("动态验证码（6位）").fill(await totp_now(username))
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{url}/console")


SOUND_AND_NOTIFICATION_STUBS = """
window.__notes = [];
window.__tones = 0;
class FakeNotification {
  constructor(title, options) { window.__notes.push({title: title, body: options.body}); }
}
FakeNotification.permission = "granted";
FakeNotification.requestPermission = () => Promise.resolve("granted");
window.Notification = FakeNotification;
class FakeAudio {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createGain() { return {gain: {value: 0}, connect() {}}; }
  createOscillator() {
    return {frequency: {value: 0}, connect() {}, start() { window.__tones += 1; }, stop() {}};
  }
}
window.AudioContext = FakeAudio;
"""

"""A Starlette app served by uvicorn on 127.0.0.1 in a background thread (for stand-ins)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

import uvicorn

from tests.support.processes import free_port


class ThreadedServer:
    """`app` on uvicorn in a daemon thread, on `port` (a free one if not given)."""

    def __init__(self, app: Any, name: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.name = name
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)

    @property
    def exiting(self) -> bool:
        return bool(self._server.should_exit)

    def request_exit(self) -> None:
        """Ask the server to stop without waiting (so waiting handlers can be woken first)."""
        self._server.should_exit = True

    def stop(self) -> None:
        self.request_exit()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class Standin:
    """Start, stop and `with` for a stand-in whose `routes()` make its Starlette app."""

    name = "stand-in"
    port = 0
    _server: ThreadedServer | None = None

    def routes(self) -> list[Any]:
        raise NotImplementedError

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        from starlette.applications import Starlette

        self._server = ThreadedServer(Starlette(routes=self.routes()), self.name)
        self.port = self._server.port
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@asynccontextmanager
async def served_here(app: Any) -> AsyncIterator[str]:
    """The app on uvicorn in THIS event loop (the test may use the database meanwhile);
    yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)

"""Helpers for tests and benchmarks that run the service's own processes (`helpline serve`,
stand-ins) on this machine: a free port, and waiting until a served process answers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_healthy(
    base: str, process: subprocess.Popen[bytes] | None = None, seconds: float = 240
) -> None:
    """Until `base`/healthz answers 200; fails at once if `process` stops on the way."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            assert process is None or process.poll() is None, "the served process stopped"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise AssertionError(f"{base} did not come up within {seconds:.0f} s")

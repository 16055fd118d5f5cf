"""Helpers for tests and benchmarks that run the service's own processes (`helpline serve`,
stand-ins) on this machine: a free port, and waiting until a served process answers."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from helpline.settings import PROJECT_ROOT


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


def data_without_urgent_exception(tmp_path: Path) -> Path:
    """A copy of data/ where no report passes the limit for its urgency (bot/webform.py takes
    an urgent one past it), so the counts below do not hang on how the model reads TEXT."""
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    limits_path = data / "bot" / "limits.yaml"
    limits = yaml.safe_load(limits_path.read_text(encoding="utf-8"))
    limits["web_reports_urgent"]["limit"] = 0
    limits_path.write_text(yaml.safe_dump(limits, allow_unicode=True), encoding="utf-8")
    return data

"""Behind a reverse proxy (issue 18's deployment): a real `helpline serve` with
HELPLINE_TRUSTED_PROXIES counts the per-address limit of web reports per client, as the proxy's
X-Forwarded-For names them, and ignores the header from any other peer, so nobody escapes the
limit by writing the header themselves.

The "proxy" is this test on 127.0.0.1; the untrusted peer is the same test connecting from
127.0.0.2 (any loopback address is this machine). data/bot/limits.yaml lets 30 web reports per
address through in 10 minutes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from tests.support.processes import data_without_urgent_exception, free_port, wait_healthy
from tests.support.web import csrf_from

HELPLINE = str(Path(sys.executable).parent / "helpline")
TEXT = "同学借了我的笔没还"
LIMIT = 30


async def _send(base: str, forwarded: list[str], source: str) -> Counter[int]:
    """One report per entry of `forwarded` (its X-Forwarded-For), all from the peer `source`."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=120) as client:
        csrf = csrf_from((await client.get("/report")).text)
        gate = asyncio.Semaphore(8)

        async def one(address: str) -> int:
            async with gate:
                form = {"csrf_token": csrf, "reporter_kind": "student", "what": TEXT}
                answer = await client.post(
                    "/report", data=form, headers={"X-Forwarded-For": address}
                )
                return answer.status_code

        return Counter(await asyncio.gather(*(one(a) for a in forwarded)))


async def test_limits_count_clients_behind_a_trusted_proxy_and_ignore_the_header_elsewhere(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = dict(os.environ)
    env.update(
        HELPLINE_BACKGROUND_SERVICES="false",
        HELPLINE_LOG_LEVEL="WARNING",
        HELPLINE_TRUSTED_PROXIES="127.0.0.1",
        HELPLINE_DATA_DIR=str(data_without_urgent_exception(tmp_path)),
    )
    process = subprocess.Popen(  # noqa: S603 - the project's own command
        [HELPLINE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, process)
        many = [f"203.0.113.{n}" for n in range(1, LIMIT + 6)]

        # Through the proxy: 35 students, each under the limit, are all heard...
        assert await _send(base, many, "127.0.0.1") == Counter({200: LIMIT + 5})
        # ...and one client behind it still meets the limit.
        one = ["198.51.100.7"] * (LIMIT + 1)
        assert await _send(base, one, "127.0.0.1") == Counter({200: LIMIT, 429: 1})

        # From a peer that is not a trusted proxy the header counts for nothing.
        spoofed = [f"192.0.2.{n}" for n in range(1, LIMIT + 2)]
        assert await _send(base, spoofed, "127.0.0.2") == Counter({200: LIMIT, 429: 1})
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

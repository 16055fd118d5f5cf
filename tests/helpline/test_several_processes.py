"""Two app processes on two ports and one escalation worker against one PostgreSQL database
(issue 18): what they share is in the database, so the invariants hold across processes.

Every accepted report is stored once; the per-address limit of web reports counts across both
processes; two counsellors pressing "take the next case" at once on different processes never
get the same case; each alert goes out once; `helpline audit verify` passes afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from helpline.db import session_scope
from helpline.settings import PROJECT_ROOT
from tests.support.processes import data_without_urgent_exception, free_port, wait_healthy
from tests.support.web import BACKEND, csrf_from, login
from triage.models import Case, Message, StaffUser

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="several processes share a database on PostgreSQL only"
)

HELPLINE = str(Path(sys.executable).parent / "helpline")
TEXT = "编号{marker}：班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"
MARKER = re.compile(r"编号(P\d-\d+)：")
PER_PROCESS = 20  # 40 reports from one address; data/bot/limits.yaml lets 30 through


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HELPLINE_BACKGROUND_SERVICES="false", HELPLINE_LOG_LEVEL="WARNING")
    return env


async def _reports(base: str, tag: str) -> dict[str, int]:
    """PER_PROCESS reports to one process; marker -> HTTP status."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        csrf = csrf_from((await client.get("/report")).text)

        async def one(n: int) -> tuple[str, int]:
            marker = f"{tag}-{n}"
            form = {
                "csrf_token": csrf,
                "reporter_kind": "student",
                "what": TEXT.format(marker=marker),
            }
            answer = await client.post("/report", data=form)
            return marker, answer.status_code

        return dict(await asyncio.gather(*(one(n) for n in range(PER_PROCESS))))


async def _take_next_all(base: str, username: str, start: asyncio.Event) -> list[int]:
    """Sign in on this process, then press "take the next case" until the queue is empty."""
    taken: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        signed_in = await login(client, username)
        assert signed_in.status_code == 303, signed_in.status_code
        await start.wait()
        while True:
            csrf = csrf_from((await client.get("/console/queue")).text)
            answer = await client.post("/console/queue/next", data={"csrf_token": csrf})
            assert answer.status_code == 303
            found = re.search(r"/console/cases/(\d+)", answer.headers["location"])
            if found is None:
                return taken
            taken.append(int(found.group(1)))


async def test_two_app_processes_and_a_worker_keep_every_invariant(db_url, tmp_path) -> None:  # noqa: ANN001
    env = _env()
    env["HELPLINE_DATA_DIR"] = str(data_without_urgent_exception(tmp_path))
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(  # noqa: S603
            [HELPLINE, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    processes.append(
        subprocess.Popen(  # noqa: S603
            [HELPLINE, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    )
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        await asyncio.gather(
            *(wait_healthy(base, p) for base, p in zip(bases, processes, strict=False))
        )

        # Reports to both processes at once, all from one address.
        sent = await asyncio.gather(_reports(bases[0], "P1"), _reports(bases[1], "P2"))
        statuses = {**sent[0], **sent[1]}
        accepted = {m for m, status in statuses.items() if status == 200}
        refused = {m for m, status in statuses.items() if status == 429}
        assert accepted | refused == set(statuses), Counter(statuses.values())
        assert len(accepted) == 30, "the limit per address holds across the processes"

        async with session_scope() as s:
            texts = (
                await s.execute(select(Message.text).where(Message.direction == "in"))
            ).scalars()
            stored = Counter(
                found.group(1) for text in texts if (found := MARKER.match(text or ""))
            )
        assert set(stored) == accepted and set(stored.values()) == {1}, "each stored once"

        # Two counsellors on two processes take the next case at the same moment, repeatedly.
        start = asyncio.Event()
        takers = [
            asyncio.create_task(_take_next_all(bases[0], "counsellor.district", start)),
            asyncio.create_task(_take_next_all(bases[1], "lead.district", start)),
        ]
        await asyncio.sleep(3)  # both signed in (TOTP and password hashing take a moment)
        start.set()
        first, second = await asyncio.gather(*takers)
        assert first and second, "both took cases"
        assert not set(first) & set(second), "a case was handed to both"
        async with session_scope() as s:
            ids = {
                u: i
                for u, i in (
                    await s.execute(
                        select(StaffUser.username, StaffUser.id).where(
                            StaffUser.username.in_(["counsellor.district", "lead.district"])
                        )
                    )
                ).all()
            }
            for case_id in first:
                assert (await s.get(Case, case_id)).assignee_id == ids["counsellor.district"]
            for case_id in second:
                assert (await s.get(Case, case_id)).assignee_id == ids["lead.district"]

        # The worker has sent the first alerts by now; none twice.
        from escalation.models import Delivery

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            async with session_scope() as s:
                count = (await s.execute(select(func.count(Delivery.id)))).scalar_one()
            if count:
                break
            await asyncio.sleep(1)
        assert count, "the worker made no deliveries"
        async with session_scope() as s:
            rows = (
                await s.execute(
                    select(
                        Delivery.escalation_id,
                        Delivery.round,
                        Delivery.step,
                        Delivery.purpose,
                        Delivery.channel,
                        Delivery.staff_id,
                        Delivery.alert_channel_id,
                    )
                )
            ).all()
        twice = [row for row, n in Counter(rows).items() if n > 1]
        assert not twice, f"{len(twice)} alerts made twice"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    verified = subprocess.run(  # noqa: S603
        [HELPLINE, "audit", "verify"], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit log intact" in verified.stdout

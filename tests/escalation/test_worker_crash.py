"""A worker killed with SIGKILL while timers are due, then started again: nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from escalation.models import Delivery, Timer
from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from tests.escalation.conftest import TEACHER_ABUSE
from triage.intake import Intake, receive

pytestmark = pytest.mark.asyncio
CASES = 30


def _start_worker() -> subprocess.Popen:
    # Lease 2 s: the restarted worker takes over what the killed one had claimed.
    return subprocess.Popen(
        [sys.executable, "-m", "escalation.worker", "2"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _open_cases() -> None:
    now = utcnow()
    async with session_scope() as session:
        for n in range(CASES):
            await receive(
                session,
                Intake(
                    channel="web",
                    reporter_ref=f"crash-{n}",
                    text=TEACHER_ABUSE,
                    org_code="sch-a",
                    received_at=now,
                    new_case=True,
                ),
            )


async def _first_steps_settled() -> tuple[int, int]:
    """(deliveries of the first steps, of them still not sent)."""
    async with session_scope() as session:
        total = (await session.execute(select(func.count()).where(Delivery.step == 0))).scalar_one()
        open_ = (
            await session.execute(
                select(func.count()).where(Delivery.step == 0, Delivery.state != "sent")
            )
        ).scalar_one()
        return total, open_


async def test_sigkill_then_restart_loses_nothing(wired: dict) -> None:
    smtp, webhook = wired["smtp"], wired["webhook"]
    webhook.delay = 0.25  # slow receiver: the kill lands while alerts are in flight
    await _open_cases()
    worker = _start_worker()
    try:
        deadline = time.monotonic() + 60
        while len(webhook.received) < 3:
            assert time.monotonic() < deadline, "worker never started sending"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = len(webhook.received)
        assert killed_at < CASES  # killed mid-way
        worker = _start_worker()
        deadline = time.monotonic() + 90
        while True:
            total, open_ = await _first_steps_settled()
            if total == 2 * CASES and open_ == 0:
                break
            assert time.monotonic() < deadline, f"{open_} of {total} never sent"
            await asyncio.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)

    async with session_scope() as session:
        rows = list((await session.execute(select(Delivery).where(Delivery.step == 0))).scalars())
        stuck = (
            await session.execute(
                select(func.count()).where(
                    Timer.state.in_(("pending", "running")), Timer.due_at <= utcnow()
                )
            )
        ).scalar_one()
    assert stuck == 0
    hooks: dict[int, int] = {}
    for item in webhook.received:
        hooks[item.body["alert_id"]] = hooks.get(item.body["alert_id"], 0) + 1
    mails: dict[int, int] = {}
    for _, message, _ in smtp.messages:
        alert_id = int(message["X-Helpline-Alert-Id"])
        mails[alert_id] = mails.get(alert_id, 0) + 1
    seen = {**hooks, **mails}
    for delivery in rows:
        assert seen.get(delivery.id, 0) >= 1, f"alert {delivery.id} lost"
        if seen[delivery.id] > 1:  # sent twice across the crash: marked as such
            assert delivery.possible_duplicate

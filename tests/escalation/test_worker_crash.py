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

from escalation.models import Delivery
from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from tests.escalation.conftest import TEACHER_ABUSE
from tests.escalation.support import emergency_case, overdue_timers
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
    stuck = await overdue_timers(utcnow())
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


def _copies(wired: dict) -> dict[int, list[float]]:
    """Alert id -> when each copy arrived (webhook and SMTP stand-ins)."""
    found: dict[int, list[float]] = {}
    for item in list(wired["webhook"].received):
        found.setdefault(int(item.body["alert_id"]), []).append(item.at)
    for _, message, at in list(wired["smtp"].messages):
        found.setdefault(int(message["X-Helpline-Alert-Id"]), []).append(at)
    return found


async def _state_of(case_id: int) -> list[Delivery]:
    async with session_scope() as session:
        query = select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
        return list((await session.execute(query)).scalars())


async def test_sigkill_emergency_first_alert_within_60s_of_restart(wired: dict) -> None:
    """Killed while an emergency's alerts are out, and a second emergency reported while the
    worker is dead: after the restart each emergency's first alert arrives within 60 s, every
    alert of the first step once per recipient and channel (a resend across the crash marked
    as a possible duplicate), and no chain ends or hangs silently."""
    from escalation.models import Escalation

    wired["webhook"].delay = 0.25  # slow receiver: the kill lands while alerts are out
    first = await emergency_case(utcnow(), "crash-emergency-1")
    await _open_cases()  # more alerts due at the same time: the worker is busy when killed
    worker = _start_worker()
    try:
        deadline = time.monotonic() + 60
        while not any(d.state in ("sending", "sent") for d in await _state_of(first)):
            assert time.monotonic() < deadline, "the emergency's alerts never went out"
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)  # as its alerts go out (most often mid-send)
        worker.wait(timeout=10)
        second = await emergency_case(utcnow(), "crash-emergency-2")  # while nobody runs
        await asyncio.sleep(3)  # the killed worker's 2-second leases run out meanwhile
        assert not any(d.id in _copies(wired) for d in await _state_of(second))
        worker = _start_worker()
        restarted = time.time()
        deadline = time.monotonic() + 90
        while True:
            copies = _copies(wired)
            owed = [d for d in await _state_of(first) if d.step == 0 and d.id not in copies]
            second_times = [min(copies[d.id]) for d in await _state_of(second) if d.id in copies]
            if second_times and not owed:
                break
            assert time.monotonic() < deadline, "an emergency's alert never came after the restart"
            await asyncio.sleep(0.05)
        # The second emergency's first alert, and every first-step alert the first one still
        # owed at the kill, within 60 s of the restart.
        assert min(second_times) - restarted <= 60
        for d in [d for d in await _state_of(first) if d.step == 0]:
            assert min(copies[d.id]) - restarted <= 60, f"alert {d.id} late after the restart"
        deadline = time.monotonic() + 90
        while True:
            rows = [*await _state_of(first), *await _state_of(second)]
            step0 = [d for d in rows if d.step == 0]
            if step0 and all(d.state == "sent" for d in step0):
                break
            assert time.monotonic() < deadline, "first-step alerts never all sent"
            await asyncio.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)

    copies = _copies(wired)
    for case_id in (first, second):
        step0 = [d for d in await _state_of(case_id) if d.step == 0]
        assert step0
        # One delivery row per recipient, channel and step: the takeover made no second one.
        keys = [
            (d.escalation_id, d.round, d.staff_id, d.channel, d.alert_channel_id) for d in step0
        ]
        assert len(keys) == len(set(keys))
        for d in step0:
            assert d.state == "sent" and d.id in copies, f"alert {d.id} lost"
            if len(copies[d.id]) > 1:  # sent again across the crash: marked as such
                assert d.possible_duplicate
        async with session_scope() as session:
            chains = list(
                (
                    await session.execute(select(Escalation).where(Escalation.case_id == case_id))
                ).scalars()
            )
        assert chains and all(c.state == "active" and c.incident_since is None for c in chains)
    overdue = await overdue_timers(utcnow())
    assert overdue == 0  # nothing left hanging (later steps wait for their minutes)

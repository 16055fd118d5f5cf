"""`helpline keys rotate` on a RUNNING service (issue 13): a real `helpline serve` process (web
and its worker) keeps working through a real rotation, without a restart. Before the fix,
staff logins and receipt follow-ups answered 500 ("unknown key id") and due step timers failed
on every lease until the service was restarted."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select, text, update

from escalation.models import Timer
from helpline.crypto import get_keyring
from helpline.db import dispose_engine, session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from tests.escalation.conftest import TEACHER_ABUSE
from tests.helpline.test_key_rotation import own_key_ring  # noqa: F401 - fixture
from tests.support.processes import free_port
from tests.support.web import DEMO_PASSWORD
from triage.intake import Intake, receive
from triage.models import Message, StaffUser


async def _wait_http(url: str, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError("helpline serve did not start")


async def _login(client: httpx.AsyncClient, username: str, secret: str) -> httpx.Response:
    page = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post(
        "/console/login",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "totp": pyotp.TOTP(secret).now(),
            "csrf_token": token,
        },
    )


async def _follow_up(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/follow-up")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post("/follow-up", data={"code": code, "csrf_token": token})


@pytest.mark.slow
async def test_running_service_survives_a_real_rotation(
    own_key_ring,  # noqa: ANN001, F811
    wired: dict,
    tmp_path,  # noqa: ANN001
) -> None:
    smtp = wired["smtp"]
    # A mandatory case whose escalation step is due later (as if waiting out a step's minutes).
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref="live-rotation",
                text=TEACHER_ABUSE,
                org_code="sch-a",
                new_case=True,
                with_receipt=True,
            ),
        )
        case_id, receipt = got.case.id, got.receipt_code
        await session.execute(
            update(Timer).where(Timer.kind == "step").values(due_at=utcnow() + timedelta(days=1))
        )
        lead_secret = (
            await session.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "lead.a")
            )
        ).scalar_one()
    old_key = get_keyring().current_id
    await dispose_engine()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HELPLINE_PORT": str(port), "HELPLINE_PUBLIC_URL": url}
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "assembly.cli", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await _wait_http(url)
        async with httpx.AsyncClient(base_url=url) as before:
            assert (await _login(before, "lead.a", lead_secret)).status_code == 303
            assert (await before.get(f"/console/cases/{case_id}")).status_code == 200
            assert (await _follow_up(before, receipt)).status_code == 200

            rotate = subprocess.run(
                [sys.executable, "-m", "assembly.cli", "keys", "rotate"],
                cwd=PROJECT_ROOT,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert rotate.returncode == 0, rotate.stderr[-2000:]
            assert "0 left" in rotate.stdout

            # The session signed in before the rotation still works, and reads the case.
            page = await before.get(f"/console/cases/{case_id}")
            assert page.status_code == 200 and "办公室" in page.text

        # A TOTP code works once (issue 16): the second sign-in waits for the next code.
        await asyncio.sleep(31 - time.time() % 30)
        async with httpx.AsyncClient(base_url=url) as after:
            # A new login (the staff row is now under the new key).
            assert (await _login(after, "lead.a", lead_secret)).status_code == 303
            page = await after.get(f"/console/cases/{case_id}")
            assert page.status_code == 200 and "办公室" in page.text
            # A receipt follow-up reads the messages, all under the new key now.
            followup = await _follow_up(after, receipt)
            assert followup.status_code == 200 and "办公室" in followup.text

        # The step timer falls due after the rotation: the running worker reads the staff's
        # addresses under the new key and the alert goes out.
        async with session_scope() as session:
            await session.execute(
                update(Timer)
                .where(Timer.kind == "step", Timer.state == "pending")
                .values(due_at=utcnow())
            )
        await dispose_engine()
        for _ in range(150):
            if smtp.messages:
                break
            await asyncio.sleep(0.2)
        assert smtp.messages, "no alert after the rotation"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.seek(0)
        output = log.read()
        log.close()
    assert "unknown key id" not in output and "KeyRingError" not in output
    assert "unhandled error" not in output, output[-3000:]

    # Everything is under the new key, and this (test) process reads it too: it met a key id
    # it did not know and read the key file again.
    async with session_scope() as session:
        stored = (
            (
                await session.execute(
                    text("SELECT text FROM messages WHERE case_id = :c").bindparams(c=case_id)
                )
            )
            .scalars()
            .all()
        )
        assert stored and all(not value.startswith(f"enc1:{old_key}:") for value in stored)
        message = (
            (await session.execute(select(Message).where(Message.case_id == case_id)))
            .scalars()
            .first()
        )
        assert message is not None and "办公室" in message.text
    assert get_keyring().current_id != old_key

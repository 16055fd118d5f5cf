"""/healthz (alive, no database) and /readyz (database, workers' heartbeats, each notifier's
last result) for monitors; neither reveals a secret, an address or a name (issue 13)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta

import httpx

from escalation import health
from escalation.worker import Worker
from helpline.db import dispose_engine, utcnow
from helpline.settings import reset_settings
from tests.escalation.test_end_to_end import _submit


async def test_healthz_answers_without_a_database(app) -> None:  # noqa: ANN001
    unreachable = "postgresql+asyncpg://helpline:s3cret-pw@127.0.0.1:1/nowhere"
    os.environ["HELPLINE_DATABASE_URL"] = unreachable
    reset_settings()
    await dispose_engine()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            alive = await c.get("/healthz")
            assert alive.status_code == 200 and alive.json() == {"status": "ok"}
            ready = await c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unreachable"}
        for secret in ("s3cret", "127.0.0.1", "helpline:", "nowhere", ":1/"):
            assert secret not in ready.text
    finally:
        await dispose_engine()


async def test_readyz_needs_a_live_worker(client) -> None:  # noqa: ANN001
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["database"] == "ok" and body["workers"]["alive"] == 0
    # A worker's loop writes its heartbeat: ready.
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(poll_seconds=0.05).run(stop))
    try:
        for _ in range(100):
            answer = await client.get("/readyz")
            if answer.status_code == 200:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert answer.json()["workers"]["alive"] == 1
    # Silent for longer than worker_alive_seconds: dead.
    later = utcnow() + timedelta(seconds=46)
    assert (await health.readiness(later)).status == "unavailable"


async def test_readyz_reports_each_notifiers_last_result_without_addresses(
    wired: dict,
    client,
    clock,  # noqa: ANN001
) -> None:
    smtp, webhook = wired["smtp"], wired["webhook"]
    smtp.refuse = True
    await health.heartbeat("w-test", utcnow())
    await _submit()
    await Worker(clock).drain()
    answer = await client.get("/readyz")
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "degraded"
    assert body["notifiers"]["email"]["last"] == "failed"
    assert body["notifiers"]["email"]["error"].startswith("smtp_")
    assert body["notifiers"]["webhook"]["last"] == "ok"
    text = json.dumps(body)
    for leak in ("@demo.invalid", str(smtp.port), str(webhook.port), "127.0.0.1", "duty.a"):
        assert leak not in text
    # E-mail works again: its last result is ok, the service is ok.
    smtp.refuse = False
    clock.advance(minutes=1)
    await Worker(clock).drain()
    body = (await client.get("/readyz")).json()
    assert body["notifiers"]["email"]["last"] == "ok" and body["status"] == "ok"

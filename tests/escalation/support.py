"""Local stand-ins for escalation tests: a webhook receiver, a movable clock, emergency cases."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from escalation.models import Delivery, Escalation, Timer
from helpline.db import session_scope
from tests.support.processes import free_port
from tests.support.smtp import SmtpSink
from tests.support.standin import ThreadedServer
from triage.intake import Intake, receive

if TYPE_CHECKING:
    from escalation.worker import Worker


class Clock:
    """An injectable clock that tests move forward instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    raw: str
    at: float


@dataclass
class WebhookReceiver:
    """HTTP receiver on 127.0.0.1; `fail_status` makes it answer with an error."""

    fail_status: int | None = None
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.attempts += 1
            if self.fail_status:
                return JSONResponse({"error": "down"}, status_code=self.fail_status)
            self.received.append(
                Received(
                    request.url.path, dict(request.query_params), json.loads(raw), raw, time.time()
                )
            )
        return JSONResponse(self.answer)

    def start(self) -> WebhookReceiver:
        app = Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])])
        self._server = ThreadedServer(app, "webhook receiver", self.port)
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Emergency cases and what became of their alerts (fault tests: test_faults, test_worker_crash,
# test_postgres_restart, test_incident_pages).
EMERGENCY = "我现在站在学校楼顶，马上就跳下去"
RECOVERY_LIMIT = timedelta(seconds=60)


async def emergency_case(at: datetime, ref: str = "web-fault-1") -> int:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref=ref,
                text=EMERGENCY,
                org_code="sch-a",
                received_at=at,
                new_case=True,
            ),
        )
        assert got.case.urgency == "emergency"
        return got.case.id


async def deliveries(case_id: int) -> list[Delivery]:
    async with session_scope() as session:
        found = await session.execute(
            select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
        )
        return list(found.scalars())


async def chain_of(case_id: int) -> Escalation:
    async with session_scope() as session:
        found = await session.execute(
            select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.id.desc())
        )
        return found.scalars().first()


async def drive(
    worker: Worker,
    clock: Clock,
    until: datetime,
    arrived: Callable[[], bool],
    tick: float = 5.0,
) -> datetime | None:
    """Move the clock in ticks, running what is due (errors kept alive like Worker.run);
    returns the clock's time when `arrived()` first held."""
    first = None
    while clock() < until:
        clock.advance(seconds=tick)
        try:
            await worker.drain()
        except Exception:  # noqa: S110 - the database may be away for a moment, as in Worker.run
            pass
        if first is None and arrived():
            first = clock()
    return first


async def overdue_timers(now: datetime) -> int:
    """Timers due by `now` and still pending or running: something left hanging."""
    async with session_scope() as session:
        query = select(func.count()).where(
            Timer.state.in_(("pending", "running")), Timer.due_at <= now
        )
        return int((await session.execute(query)).scalar_one())


def alert_ids(smtp: SmtpSink) -> list[int]:
    return [int(m["X-Helpline-Alert-Id"]) for _, m, _ in smtp.messages]


# A school's emergency policy: on duty and a webhook group at once on every channel, then the
# school's lead, then the district's duty (the `wired` fixture, the policy editor's tests).
SCHOOL_POLICY = {
    "org": "sch-a",
    "name": "一中紧急升级",
    "urgencies": ["emergency", "high"],
    "repeat": 2,
    "reack_minutes": 30,
    "steps": [
        {
            "targets": [
                {"notify": "on_duty", "org": "school"},
                {"notify": "group", "group": "duty-group"},
            ],
            "wait_minutes": 2,
            "all_channels": True,  # a person's every channel at once (emergencies)
        },
        {"notify": "role", "role": "safeguarding_lead", "org": "school", "wait_minutes": 3},
        {"notify": "on_duty", "org": "district", "wait_minutes": 5},
    ],
}

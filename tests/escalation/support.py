"""Local stand-ins for escalation tests: a webhook receiver, an SMTP sink, a movable clock."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as email_policy
from typing import TYPE_CHECKING, Any

import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from escalation.models import Delivery, Escalation, Timer
from helpline.db import session_scope
from tests.support.processes import free_port
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
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        self.sink.attempts += 1
        down = self.sink.refuse_while is not None and self.sink.refuse_while()
        if self.sink.refuse or down or address in self.sink.refuse_to:
            return "550 5.7.1 refused by test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        message = message_from_bytes(envelope.content, policy=email_policy)
        self.sink.messages.append((list(envelope.rcpt_tos), message, time.time()))
        return "250 Message accepted"


class SmtpSink:
    """aiosmtpd on 127.0.0.1; `refuse` makes it reject every recipient."""

    def __init__(self) -> None:
        self.port = free_port()
        self.refuse = False
        self.refuse_to: set[str] = set()
        self.refuse_while: Callable[[], bool] | None = None  # e.g. an outage on a test clock
        self.attempts = 0
        self.messages: list[tuple[list[str], Any, float]] = []
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def bodies(self) -> list[str]:
        return [f"{m['Subject']}\n{m.get_content()}" for _, m, _ in self.messages]


async def queue_alerts(session: Any, n: int, url: str, due_at: datetime) -> list[int]:
    """`n` webhook alerts of one active chain, all due at `due_at` (load tests, benchmark)."""
    from sqlalchemy import insert, select

    from escalation.models import AlertChannel, Delivery, Escalation, EscalationPolicy, Timer
    from triage.models import Case, Organisation, Reporter

    org = (
        await session.execute(select(Organisation).where(Organisation.code == "sch-a"))
    ).scalar_one()
    policy = (await session.execute(select(EscalationPolicy).limit(1))).scalar_one()
    channel = AlertChannel(org_id=org.id, name="load", kind="webhook", target=url)
    reporter = Reporter(channel="web", pseudonym=f"load-{time.time_ns()}")
    session.add_all([channel, reporter])
    await session.flush()
    case = Case(
        org_id=org.id,
        reporter_id=reporter.id,
        channel="web",
        labels=["bullying"],
        urgency="high",
        urgency_rank=1,
        received_at=due_at,
        first_response_due=due_at,
        last_activity_at=due_at,
    )
    session.add(case)
    await session.flush()
    chain = Escalation(
        case_id=case.id, policy_id=policy.id, reason="opened", state="active", started_at=due_at
    )
    session.add(chain)
    await session.flush()
    rows = [
        {
            "escalation_id": chain.id,
            "case_id": case.id,
            "round": 1,
            "step": 0,
            "purpose": "alert",
            "channel": "webhook",
            "alert_channel_id": channel.id,
            "state": "pending",
            "attempts": 0,
            "created_at": due_at,
            "due_at": due_at,
            "possible_duplicate": False,
        }
        for _ in range(n)
    ]
    ids = list((await session.execute(insert(Delivery).returning(Delivery.id), rows)).scalars())
    timers = [
        {
            "kind": "deliver",
            "delivery_id": i,
            "due_at": due_at,
            "state": "pending",
            "runs": 0,
            "round": 1,
            "step": 0,
        }
        for i in ids
    ]
    await session.execute(insert(Timer), timers)
    return ids


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

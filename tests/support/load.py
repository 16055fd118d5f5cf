"""Many reporters writing at once, through the Bot API stand-in and the web form.

Shared by tests/bot/test_concurrency.py and the benchmarks (intake, report_statements). Every
message carries its reporter's marker, so afterwards `check` can prove that every message is
stored, each reporter has their own case, and nothing was mixed up. `queue_alerts` fills the
escalation queue for the load tests and benchmarks/escalation.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from helpline.crypto import get_keyring
from helpline.db import session_scope
from tests.support.telegram import TelegramStandin
from triage.models import Case, Message, Reporter

FIRST = "编号{marker}：班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"
SECOND = "编号{marker}：我不敢告诉爸妈，怕他们担心"
MARKER = re.compile(r"编号([TW]\d+)：")
CHAT_BASE = 900_000


async def scratch_app(url: str | None) -> object:
    """For the benchmarks: a scratch database (a SQLite file in a temp dir, or the EMPTY
    PostgreSQL database `url`) with the demo configuration, the web limits per address lifted
    (one benchmark address sends every report), and the assembled app (hooks wired)."""
    import logging
    import os
    import tempfile

    from assembly import dbadmin, wiring
    from assembly.app import create_app
    from bot import texts
    from helpline.settings import PROJECT_ROOT

    tmp = tempfile.mkdtemp()
    os.environ["HELPLINE_VAR_DIR"] = tmp
    os.environ["HELPLINE_CONFIG_FILE"] = ""
    os.environ["HELPLINE_DATABASE_URL"] = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    os.environ.setdefault("HELPLINE_MODEL_DIR", str(PROJECT_ROOT / "var" / "models"))
    logging.disable(logging.WARNING)
    await asyncio.to_thread(dbadmin.upgrade)
    await wiring.load_demo(PROJECT_ROOT / "data" / "demo" / "config.yaml", "bench-pass-1")
    limits = dict(texts.limits())
    limits["web_reports"] = limits["web_followups"] = {"limit": 10**9, "window_seconds": 60}
    texts.limits = lambda: limits  # type: ignore[assignment]
    wiring.wire_hooks()
    return create_app()


@asynccontextmanager
async def running_bot(api: TelegramStandin) -> AsyncIterator[None]:
    """The real Telegram bot polling the stand-in, for the benchmarks; stopped on the way out."""
    import os

    from bot import telegram_service
    from helpline.settings import reset_settings

    os.environ["HELPLINE_TELEGRAM_TOKEN"] = api.token
    os.environ["HELPLINE_TELEGRAM_BASE_URL"] = api.base_url
    reset_settings()
    stop = asyncio.Event()
    bot = asyncio.create_task(telegram_service.run_telegram(stop=stop))
    for _ in range(1500):  # the model loads first: up to 30 s
        if telegram_service.current_application() is not None:
            break
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        stop.set()
        await bot


@dataclass
class LoadResult:
    telegram: int
    web: int
    messages: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def _telegram(api: TelegramStandin, n: int, wait_seconds: float) -> None:
    for i in range(n):
        chat = CHAT_BASE + i
        api.push_update(api.text_update(chat, FIRST.format(marker=f"T{i}")))
        api.push_update(api.text_update(chat, SECOND.format(marker=f"T{i}")))

    def all_answered() -> None:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            answered = {c.chat_id for c in api.calls("sendMessage")}
            counts = [len(api.calls("sendMessage", CHAT_BASE + i)) for i in range(n)]
            if len(answered) >= n and min(counts, default=2) >= 2:
                return
            time.sleep(0.05)
        raise AssertionError("not every Telegram reporter was answered in time")

    await asyncio.to_thread(all_answered)


async def _web_reporter(client: httpx.AsyncClient, csrf: str, i: int) -> None:
    marker = f"W{i}"
    first = await client.post(
        "/report",
        data={"csrf_token": csrf, "reporter_kind": "student", "what": FIRST.format(marker=marker)},
    )
    assert first.status_code == 200, first.status_code
    code = re.search(r'id="receipt-code"[^>]*>([A-Z0-9-]+)<', first.text)
    assert code is not None
    opened = await client.post("/follow-up", data={"csrf_token": csrf, "code": code.group(1)})
    assert opened.status_code == 200, opened.status_code
    token = re.search(r'name="token" value="([^"]+)"', opened.text)
    assert token is not None
    added = await client.post(
        "/follow-up/add",
        data={"csrf_token": csrf, "token": token.group(1), "text": SECOND.format(marker=marker)},
    )
    assert added.status_code == 200, added.status_code


async def run_load(
    api: TelegramStandin, client: httpx.AsyncClient, n_telegram: int, n_web: int
) -> LoadResult:
    page = await client.get("/report")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    started = time.monotonic()
    await asyncio.gather(
        _telegram(api, n_telegram, wait_seconds=300),
        *(_web_reporter(client, csrf.group(1), i) for i in range(n_web)),
    )
    seconds = time.monotonic() - started
    return LoadResult(n_telegram, n_web, 2 * (n_telegram + n_web), seconds)


async def check(n_telegram: int, n_web: int) -> None:
    """Every message stored, in its own reporter's one case, in order; nothing mixed."""
    async with session_scope() as s:
        rows = (
            await s.execute(
                select(Message, Case.reporter_id, Case.channel, Reporter.pseudonym)
                .join(Case, Case.id == Message.case_id)
                .join(Reporter, Reporter.id == Case.reporter_id)
                .where(Message.direction == "in")
                .order_by(Message.id)
            )
        ).all()
    by_marker: dict[str, list[tuple[int, int, str, str, str]]] = {}
    for message, reporter_id, channel, pseudonym in rows:
        found = MARKER.match(message.text or "")
        assert found, "a stored message lost its text"
        by_marker.setdefault(found.group(1), []).append(
            (message.case_id, reporter_id, channel, pseudonym, message.text or "")
        )
    expected = {f"T{i}" for i in range(n_telegram)} | {f"W{i}" for i in range(n_web)}
    assert set(by_marker) == expected, "messages missing or unexpected"
    ring = get_keyring()
    cases: set[int] = set()
    for marker, stored in by_marker.items():
        assert len(stored) == 2, f"{marker}: {len(stored)} messages"
        assert len({case for case, *_ in stored}) == 1, f"{marker}: split over cases"
        assert [t for *_, t in stored] == [
            FIRST.format(marker=marker),
            SECOND.format(marker=marker),
        ]
        case_id, _, channel, pseudonym, _ = stored[0]
        if marker.startswith("T"):
            chat = CHAT_BASE + int(marker[1:])
            assert channel == "telegram" and pseudonym == ring.pseudonym("telegram", str(chat))
        else:
            assert channel == "web"
        cases.add(case_id)
    assert len(cases) == len(expected), "two reporters share a case"


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

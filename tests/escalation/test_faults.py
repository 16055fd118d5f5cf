"""Alerts get through faults (issue 13), with real parts and an injectable clock.

For each fault the first alert of an emergency case over the faulty channel arrives within 60 s
(of the test clock) of the channel's recovery, every alert arrives once per recipient and step
(a resend after an ambiguous failure is marked), and nothing ends silently: while nobody is
reached the chain is a visible delivery incident that keeps retrying.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from escalation import incidents
from escalation.config import settings
from escalation.models import AlertProfile, Delivery, Escalation
from escalation.worker import Worker
from helpline.db import session_scope, utcnow
from tests.escalation.conftest import MONDAY_10
from tests.escalation.support import (
    RECOVERY_LIMIT,
    Clock,
    WebhookReceiver,
    alert_ids,
    chain_of,
    deliveries,
    drive,
    emergency_case,
)
from tests.support.smtp import SmtpSink
from tests.support.telegram import TelegramStandin
from tests.support.web import BACKEND
from triage.models import StaffUser

pytestmark = pytest.mark.asyncio


@pytest.fixture
def short_timeout() -> Iterator[None]:
    conf = settings()["delivery"]
    before = conf["timeout_seconds"]
    conf["timeout_seconds"] = 0.5
    yield
    conf["timeout_seconds"] = before


async def test_smtp_refusing_for_30_minutes(
    mail: SmtpSink, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage_end = MONDAY_10 + timedelta(minutes=30)
    mail.refuse_while = lambda: clock() < outage_end
    caplog.set_level(logging.WARNING)
    case_id = await emergency_case(clock())
    worker = Worker(clock)
    await worker.drain()

    # Every step failed at once, so the rounds ran through: a delivery incident, not silence.
    chain = await chain_of(case_id)
    assert chain.state == "incident" and chain.incident_since == MONDAY_10
    async with session_scope() as session:
        found = await incidents.summary(session)
    assert found.incidents == 1 and found.retrying >= 1
    assert ("email", "smtp_SMTPRecipientsRefused") in found.failing
    failures = [r for r in caplog.records if r.getMessage() == "alert delivery failed"]
    assert failures and all(r.levelno == logging.WARNING for r in failures)
    assert all(r.error == "smtp_SMTPRecipientsRefused" for r in failures)
    assert any(
        r.getMessage() == "delivery incident" and r.levelno == logging.ERROR for r in caplog.records
    )

    await drive(worker, clock, outage_end - timedelta(seconds=5), lambda: False, tick=15)
    assert mail.messages == []
    rows = await deliveries(case_id)
    # One alert per recipient and channel is retried, not one more per round.
    assert len({(d.staff_id, d.channel) for d in rows}) == len(rows) == 3
    assert all(d.state == "pending" and d.attempts > 5 for d in rows)

    first = await drive(
        worker, clock, outage_end + timedelta(minutes=2), lambda: bool(mail.messages)
    )
    assert first is not None and first - outage_end <= RECOVERY_LIMIT
    rows = await deliveries(case_id)
    assert all(d.state == "sent" for d in rows)
    assert sorted(alert_ids(mail)) == sorted(d.id for d in rows)  # each once
    chain = await chain_of(case_id)
    assert chain.state == "exhausted" and chain.incident_since is None
    for record in caplog.records:  # no names, addresses or message text in any log line
        line = f"{record.getMessage()} {vars(record)}"
        assert "@" not in line and "楼顶" not in line and "赵值班" not in line


async def test_webhook_500_then_hanging(wired: dict, clock: Clock, short_timeout: None) -> None:
    webhook: WebhookReceiver = wired["webhook"]
    webhook.fail_status = 500
    case_id = await emergency_case(clock())
    worker = Worker(clock)
    await worker.drain()
    # E-mail reached the duty officer: not an incident, but the webhook alert is retried.
    assert wired["smtp"].messages and webhook.received == []
    assert (await chain_of(case_id)).incident_since is None

    recovered = clock() + timedelta(minutes=30)
    await drive(worker, clock, recovered - timedelta(minutes=3), lambda: False, tick=15)
    webhook.fail_status, webhook.delay = None, 2.0  # now it hangs past the 0.5 s timeout
    await drive(worker, clock, recovered, lambda: False, tick=15)
    webhook.delay = 0.0
    first = await drive(
        worker,
        clock,
        recovered + timedelta(minutes=2),
        lambda: bool([r for r in webhook.received if r.at and r.body.get("possible_duplicate")]),
    )
    assert first is not None and first - recovered <= RECOVERY_LIMIT
    await asyncio.sleep(2.5)  # let the hung requests finish on the receiver
    rows = [d for d in await deliveries(case_id) if d.channel == "webhook"]
    assert len(rows) == 1 and rows[0].state == "sent" and rows[0].possible_duplicate
    # The receiver got it more than once (the hung attempts completed): every later copy says
    # it may be a duplicate, in the JSON and in the header.
    copies = [r for r in webhook.received if r.body["alert_id"] == rows[0].id]
    assert len(copies) >= 2
    assert all(r.body["possible_duplicate"] for r in copies[1:])
    assert all(r.body["title"].startswith("【可能重复】") for r in copies[1:])


async def test_telegram_standin_down(mail: SmtpSink, clock: Clock) -> None:
    from helpline.settings import reset_settings

    api = TelegramStandin().start()
    os.environ["HELPLINE_TELEGRAM_TOKEN"] = api.token
    os.environ["HELPLINE_TELEGRAM_BASE_URL"] = api.base_url
    reset_settings()
    try:
        async with session_scope() as session:
            duty = (
                await session.execute(select(StaffUser).where(StaffUser.username == "duty.a"))
            ).scalar_one()
            duty.telegram_chat_id = "424242"
            session.add(AlertProfile(staff_id=duty.id, channels=["telegram"]))
        api.stop()  # Telegram is down
        case_id = await emergency_case(clock())
        worker = Worker(clock)
        await worker.drain()
        rows = await deliveries(case_id)
        first_tg = [d for d in rows if d.channel == "telegram"]
        assert len(first_tg) == 1 and first_tg[0].state == "pending" and first_tg[0].attempts == 1
        # The duty officer was not reached: the lead (e-mail) was alerted at once.
        assert mail.messages and mail.messages[0][0] == ["lead.a@demo.invalid"]

        recovered = clock() + timedelta(minutes=30)
        await drive(worker, clock, recovered, lambda: False, tick=20)
        back = TelegramStandin(api.token)
        back.port = api.port  # the same address comes back
        back.start()
        try:
            first = await drive(
                worker,
                clock,
                recovered + timedelta(minutes=2),
                lambda: bool(back.calls("sendMessage")),
            )
            assert first is not None and first - recovered <= RECOVERY_LIMIT
            sent = back.calls("sendMessage")
            assert len(sent) == 1 and sent[0].chat_id == "424242"
            assert "楼顶" not in sent[0].text and "赵值班" not in sent[0].text
        finally:
            back.stop()
        rows = await deliveries(case_id)
        assert [d.state for d in rows if d.channel == "telegram"] == ["sent"]
    finally:
        for name in ("HELPLINE_TELEGRAM_TOKEN", "HELPLINE_TELEGRAM_BASE_URL"):
            os.environ.pop(name, None)
        reset_settings()


async def _terminate_backends(db_url: str) -> int:
    import asyncpg

    from tests.support.web import PG_HOST

    name = db_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_HOST.replace("+asyncpg", "") + "/postgres")
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        return len(rows)
    finally:
        await conn.close()


@pytest.mark.skipif(BACKEND != "postgresql", reason="terminates PostgreSQL backends")
async def test_postgres_connections_dropped_mid_chain(
    mail: SmtpSink, clock: Clock, db_url: str
) -> None:
    """Every connection of the test database is cut while alerts are being retried."""
    outage_end = MONDAY_10 + timedelta(minutes=5)
    mail.refuse_while = lambda: clock() < outage_end
    case_id = await emergency_case(clock())
    worker = Worker(clock)
    await worker.drain()
    assert (await chain_of(case_id)).state == "incident"
    await drive(worker, clock, outage_end - timedelta(seconds=30), lambda: False)
    assert await _terminate_backends(db_url) >= 1
    first = await drive(
        worker, clock, outage_end + timedelta(minutes=2), lambda: bool(mail.messages)
    )
    assert first is not None and first - outage_end <= RECOVERY_LIMIT
    # Cut again while the chain waits for an acknowledgement: nothing is lost or repeated.
    await _terminate_backends(db_url)
    await drive(worker, clock, clock() + timedelta(minutes=10), lambda: False)
    rows = await deliveries(case_id)
    assert all(d.state == "sent" for d in rows)
    ids = alert_ids(mail)
    assert sorted(set(ids)) == sorted(d.id for d in rows)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert all(d.possible_duplicate for d in rows if d.id in duplicates)


@pytest.mark.slow
async def test_real_time_one_minute_outage(mail: SmtpSink) -> None:
    """Real clock, the worker loop as `helpline serve` runs it: SMTP refuses for one minute."""
    from escalation import config_import

    async with session_scope() as session:
        await config_import.add_policy(
            session,
            {
                "org": "sch-a",
                "name": "实时测试",
                "urgencies": ["emergency"],
                "repeat": 1,
                "steps": [{"notify": "staff", "staff": "duty.a", "wait_minutes": 1}],
            },
        )
    start = utcnow()
    recovered = start + timedelta(seconds=60)
    mail.refuse_while = lambda: utcnow() < recovered
    stop = asyncio.Event()
    loop = asyncio.create_task(Worker(poll_seconds=0.2).run(stop))
    try:
        case_id = await emergency_case(start, ref="web-fault-rt")
        for _ in range(900):  # at most 180 s
            if mail.messages or utcnow() > recovered + timedelta(seconds=90):
                break
            await asyncio.sleep(0.2)
        assert mail.messages, "the alert never arrived"
        arrived = utcnow()
        assert arrived >= recovered and arrived - recovered <= RECOVERY_LIMIT
    finally:
        stop.set()
        await loop
    rows = await deliveries(case_id)
    assert [d.state for d in rows] == ["sent"] and rows[0].attempts > 2
    assert alert_ids(mail) == [rows[0].id]


async def test_closing_cancels_everything_in_the_same_transaction(
    mail: SmtpSink, clock: Clock
) -> None:
    from triage.casework import close_case

    mail.refuse = True
    case_id = await emergency_case(clock())
    worker = Worker(clock)
    await worker.drain()
    async with session_scope() as session:
        from escalation.models import StatutoryReport, Timer

        await session.execute(
            update(StatutoryReport)
            .where(StatutoryReport.case_id == case_id)
            .values(state="done", made_at=clock())
        )
        lead = (
            await session.execute(select(StaffUser).where(StaffUser.username == "lead.a"))
        ).scalar_one()
        from triage.models import Case

        case = await session.get(Case, case_id)
        assert await close_case(session, lead, case, "referred", "已转介") == []
        # Same transaction: already cancelled before the commit.
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert chain.state == "closed"
        pending = await session.execute(
            select(Timer.id).where(Timer.state == "pending", Timer.kind != "deadline")
        )
        assert list(pending.scalars()) == []
        states = await session.execute(select(Delivery.state).where(Delivery.case_id == case_id))
        assert set(states.scalars()) == {"cancelled"}
    mail.refuse = False
    await drive(worker, clock, clock() + timedelta(minutes=15), lambda: False)
    assert mail.messages == []  # nothing for a closed case
    async with session_scope() as session:
        assert (await incidents.summary(session)).incidents == 0

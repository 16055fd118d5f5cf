"""Rules through real intake: the guardian exception, one transaction, policies by urgency,
K rounds, a crash between send and commit, every channel free of text and names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from escalation import ack, chain, config_import, reports, roster
from escalation.models import Delivery, Escalation, StatutoryReport, Timer
from escalation.worker import Worker
from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT, reset_settings
from tests.escalation.conftest import MONDAY_10, TEACHER_ABUSE
from tests.escalation.support import WebhookReceiver
from tests.escalation.test_end_to_end import _forbidden_words, _submit
from tests.support.telegram import TelegramStandin
from triage.hooks import close_blockers
from triage.intake import Intake, receive
from triage.models import Case, Organisation, StaffUser

pytestmark = pytest.mark.asyncio

# Unambiguous messages: a suicidal crisis; a father beating his child at home.
CRISIS = "我真的不想活了，今晚就想从楼上跳下去，活着太痛苦了"
ABUSE_AT_HOME = "我爸爸每天喝醉了就用皮带抽我，身上全是伤，我不敢回家"
CRISIS_AND_ABUSE_AT_HOME = "我爸爸喝醉了就用皮带打我，身上都是伤，我不敢回家，我不想活了"


async def _message(text: str, ref: str, org: str = "sch-a", case_id: int | None = None) -> Case:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref=ref,
                text=text,
                org_code=org,
                received_at=MONDAY_10,
                new_case=case_id is None,
                case_id=case_id,
            ),
        )
        return got.case


async def _kinds(case_id: int) -> dict[str, StatutoryReport]:
    async with session_scope() as session:
        return {r.kind: r for r in await reports.case_reports(session, case_id)}


async def test_guardians_informed_in_a_crisis_unless_abused_at_home(wired: dict) -> None:
    crisis = await _message(CRISIS, "g-1")
    assert crisis.labels == ["crisis"]
    notice = (await _kinds(crisis.id))["guardian_notice"]
    assert notice.state == "due" and (notice.due_at - MONDAY_10).total_seconds() == 1440 * 60

    both = await _message(CRISIS_AND_ABUSE_AT_HOME, "g-2")
    assert {"crisis", "abuse"} <= set(both.labels)
    assert "guardian_notice" not in await _kinds(both.id)

    # The child of the first case then says the father beats them: the notice opened with the
    # case is waived (audited), and no longer stands between the case and its closing.
    await _message(ABUSE_AT_HOME, "g-1", case_id=crisis.id)
    kinds = await _kinds(crisis.id)
    assert kinds["guardian_notice"].state == "waived"
    assert {"police_report", "civil_affairs_report"} <= set(kinds)
    async with session_scope() as session:
        waived = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "report.waived", AuditEvent.object_id == str(crisis.id)
                )
            )
        ).scalar_one()
        assert waived.details["kind"] == "guardian_notice"
        lead = (
            await session.execute(select(StaffUser.id).where(StaffUser.username == "lead.a"))
        ).scalar_one()
        for report in kinds.values():
            if report.state != "waived":
                made = reports.Made("某单位", MONDAY_10, "R-1")
                await reports.record_report(session, report.id, crisis.id, lead, made)
        case = await session.get(Case, crisis.id)
        assert await close_blockers(session, case) == []
        with pytest.raises(reports.ReportError):
            await reports.record_report(
                session,
                kinds["guardian_notice"].id,
                crisis.id,
                lead,
                reports.Made("x", MONDAY_10, "y"),
            )


async def test_case_reports_chain_and_timers_commit_together(wired: dict) -> None:
    class Crash(Exception):
        pass

    async def counts() -> tuple[int, ...]:
        async with session_scope() as session:
            found = []
            for table in (Case, StatutoryReport, Escalation, Timer):
                query = select(func.count()).select_from(table)
                found.append((await session.execute(query)).scalar_one())
            return tuple(found)

    before = await counts()
    with pytest.raises(Crash):
        async with session_scope() as session:
            await receive(
                session,
                Intake(
                    channel="web",
                    reporter_ref="tx-1",
                    text=TEACHER_ABUSE,
                    org_code="sch-a",
                    received_at=MONDAY_10,
                    new_case=True,
                ),
            )
            inside = (await session.execute(select(func.count()).select_from(Timer))).scalar_one()
            assert inside > before[3]  # written in the intake's transaction...
            raise Crash
    assert await counts() == before  # ...and rolled back with it: nothing half-made


async def test_policy_by_urgency_school_before_district(wired: dict) -> None:
    async with session_scope() as session:
        names = {}
        for text, ref, org in (
            (CRISIS, "p-1", "sch-b"),
            (ABUSE_AT_HOME, "p-2", "sch-b"),
            (ABUSE_AT_HOME, "p-3", "sch-a"),
        ):
            got = await receive(
                session,
                Intake(
                    channel="web",
                    reporter_ref=ref,
                    text=text,
                    org_code=org,
                    received_at=MONDAY_10,
                    new_case=True,
                ),
            )
            policy = await chain.choose_policy(session, got.case)
            names[(got.case.urgency, org)] = policy.name
    # sch-b has no policy of its own: the district's, chosen by urgency; sch-a has its own.
    assert names == {
        ("emergency", "sch-b"): "区默认升级策略",
        ("high", "sch-b"): "区常规升级策略",
        ("high", "sch-a"): "一中紧急升级",
    }


async def test_chain_repeats_k_rounds_then_is_exhausted(wired: dict, clock) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    case_id = await _submit()
    worker = Worker(clock)
    await worker.drain()
    for wait in (2, 3, 5, 2, 3, 5):  # the waits of the school policy, two rounds (repeat: 2)
        clock.advance(minutes=wait - 1)
        await worker.drain()
        sent = len(smtp.messages)
        clock.advance(minutes=1, seconds=1)
        await worker.drain()
        assert len(smtp.messages) >= sent  # nothing before its wait
    clock.advance(hours=2)
    await worker.drain()
    order = [rcpt[0] for rcpt, _, _ in smtp.messages]
    round_ = ["duty.a@demo.invalid", "lead.a@demo.invalid", "duty.district@demo.invalid"]
    assert order == round_ * 2
    assert len(webhook.received) == 2  # the group of step 1, once per round
    async with session_scope() as session:
        escalation = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert escalation.state == "exhausted" and escalation.round == 2


async def test_crash_between_send_and_commit_marks_the_duplicate(wired: dict, clock) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    case_id = await _submit()
    dying = Worker(clock, lease_seconds=30)
    await dying.run_once()  # the first step: its deliveries are queued
    _, jobs = await dying.claim()  # `sending` committed...
    assert len(jobs) == 2
    for job in jobs:  # ...sent, and the process dies before recording it
        from escalation.delivery import run_job

        await run_job(job, clock)
    assert len(webhook.received) == 1 and len(smtp.messages) == 1

    clock.advance(seconds=29)
    assert await Worker(clock, lease_seconds=30).drain() == 0  # lease still held
    clock.advance(seconds=2)
    await Worker(clock, lease_seconds=30).drain()
    assert len(webhook.received) == 2 and len(smtp.messages) == 2
    assert webhook.received[0].body["alert_id"] == webhook.received[1].body["alert_id"]
    async with session_scope() as session:
        rows = list(
            (await session.execute(select(Delivery).where(Delivery.case_id == case_id))).scalars()
        )
    assert len(rows) == 2  # the step itself ran once
    assert all(d.state == "sent" and d.possible_duplicate and d.attempts == 2 for d in rows)


async def test_every_channel_carries_no_text_and_no_name(wired: dict, clock, client) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    with WebhookReceiver() as wecom, WebhookReceiver() as ding, TelegramStandin() as api:
        async with session_scope() as session:
            for kind, robot in (("wecom", wecom), ("dingtalk", ding)):
                await config_import.add_channel(
                    session,
                    {
                        "org": "sch-a",
                        "name": "duty-group",
                        "kind": kind,
                        "url": robot.url,
                        "secret": "SEC" if kind == "dingtalk" else None,
                    },
                )
            duty = (
                await session.execute(select(StaffUser).where(StaffUser.username == "duty.a"))
            ).scalar_one()
            duty.telegram_chat_id = "424242"
        os.environ["HELPLINE_TELEGRAM_TOKEN"] = api.token
        os.environ["HELPLINE_TELEGRAM_BASE_URL"] = api.base_url
        reset_settings()
        try:
            case_id = await _submit()
            await Worker(clock).drain()
            (call,) = api.wait_for("sendMessage", chat_id=424242)
        finally:
            for name in ("HELPLINE_TELEGRAM_TOKEN", "HELPLINE_TELEGRAM_BASE_URL"):
                os.environ.pop(name, None)
            reset_settings()

    def plain(data: object) -> str:  # JSON with its Chinese unescaped, so a grep can find it
        return json.dumps(data, ensure_ascii=False)

    payloads = {
        "telegram": plain(call.params),
        "email": smtp.bodies()[0],
        "webhook": plain(webhook.received[0].body),
        "wecom": plain(wecom.received[0].body),
        "dingtalk": plain(ding.received[0].body),
    }
    async with session_scope() as session:
        case = await session.get(Case, case_id)
        names = list((await session.execute(select(StaffUser.display_name))).scalars())
    for channel, text in payloads.items():
        for word in [*_forbidden_words(), *names, "web-form-1"]:
            assert word not in text, (channel, word)
        assert case.number in text, channel
    assert "sign" in ding.received[0].query and not wecom.received[0].query

    # The link in an alert needs a login.
    answer = await client.get(f"/console/cases/{case_id}")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"

    # The Telegram button acknowledges; who and how is audited; a replay is refused.
    data = call.buttons()[0]["callback_data"]
    async with session_scope() as session:
        assert await ack.acknowledge_token(session, data, via="telegram", now=clock()) == (
            "acknowledged"
        )
    async with session_scope() as session:
        assert await ack.acknowledge_token(session, data, via="telegram") == "used"
        event = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "escalation.acknowledged",
                    AuditEvent.object_id == str(case_id),
                )
            )
        ).scalar_one()
    assert event.actor == f"staff:{duty.id}" and event.details["via"] == "telegram"


async def test_helpline_worker_once_runs_what_is_due(wired: dict) -> None:
    smtp, webhook = wired["smtp"], wired["webhook"]
    async with session_scope() as session:
        await receive(
            session,
            Intake(
                channel="web",
                reporter_ref="cli-1",
                text=TEACHER_ABUSE,
                org_code="sch-a",
                received_at=utcnow(),
                new_case=True,
            ),
        )
    helpline = Path(sys.executable).parent / "helpline"
    done = subprocess.run(
        [str(helpline), "worker", "--once"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ran ")
    async with session_scope() as session:  # the real clock: whoever is on duty now
        school = (
            await session.execute(select(Organisation.id).where(Organisation.code == "sch-a"))
        ).scalar_one()
        (on_duty,) = await roster.on_duty(session, school, utcnow())
        expected = (await session.get(StaffUser, on_duty)).email
    assert [rcpt for rcpt, _, _ in smtp.messages] == [[expected]]
    assert len(webhook.received) == 1
    async with session_scope() as session:
        states = Counter((await session.execute(select(Delivery.state))).scalars())
    assert states == Counter({"sent": 2})

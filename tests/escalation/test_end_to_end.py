"""End to end: a web report of sexual abuse by a teacher -> reports, alerts, escalation, ack."""

from __future__ import annotations

import asyncio
import time

import pytest
import yaml
from sqlalchemy import select

from escalation import ack
from escalation.models import Delivery, Escalation, StatutoryReport
from escalation.worker import Worker
from helpline.db import session_scope
from helpline.settings import PROJECT_ROOT
from tests.escalation.conftest import MONDAY_10, TEACHER_ABUSE
from triage.intake import Intake, receive

pytestmark = pytest.mark.asyncio


def _forbidden_words() -> list[str]:
    """Words of the message and every demo staff name: none may appear in an alert."""
    demo = yaml.safe_load((PROJECT_ROOT / "data/demo/config.yaml").read_text(encoding="utf-8"))
    names = [s["display_name"] for s in demo["staff"]]
    return [*names, "刘建国", "班主任", "办公室", "摸我", "身体", "害怕", "告诉别人"]


async def _submit() -> int:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref="web-form-1",
                text=TEACHER_ABUSE,
                org_code="sch-a",
                received_at=MONDAY_10,
                new_case=True,
                with_receipt=True,
            ),
        )
        return got.case.id


async def _wait_until(predicate, limit: float = 5.0) -> float:  # noqa: ANN001
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_report_alerts_escalates_and_ack_stops(wired: dict, clock) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    case_id = await _submit()

    # Opened with the case, in the intake transaction: reports and the first timer.
    async with session_scope() as session:
        kinds = {
            r.kind: r
            for r in (
                await session.execute(
                    select(StatutoryReport).where(StatutoryReport.case_id == case_id)
                )
            ).scalars()
        }
        assert {"school_head_notice", "police_report", "education_report"} <= set(kinds)
        assert (kinds["police_report"].due_at - MONDAY_10).total_seconds() == 3600
        assert (kinds["school_head_notice"].due_at - MONDAY_10).total_seconds() == 600

    stop = asyncio.Event()
    worker = Worker(clock, poll_seconds=0.05)
    task = asyncio.create_task(worker.run(stop))
    try:
        waited = await _wait_until(lambda: webhook.received and smtp.messages)
        assert waited < 2.0
        await asyncio.sleep(0.3)
        assert [rcpt for rcpt, _, _ in smtp.messages] == [["duty.a@demo.invalid"]]
        assert len(webhook.received) == 1
        texts = [webhook.received[0].raw, *smtp.bodies()]
        for text in texts:
            for word in _forbidden_words():
                assert word not in text, word
        payload = webhook.received[0].body
        assert payload["number"].endswith(f"{case_id:06d}")
        assert payload["link"] == f"http://testserver/console/cases/{case_id}"
        assert payload["category"] == "受限个案"  # sexual abuse: restricted, not even the label

        # No acknowledgement: after the step's 2 minutes, the safeguarding lead is alerted.
        clock.advance(minutes=2, seconds=1)
        await _wait_until(lambda: len(smtp.messages) == 2)
        assert smtp.messages[1][0] == ["lead.a@demo.invalid"]

        # The lead acknowledges with the link in the e-mail: the chain stops.
        async with session_scope() as session:
            lead_alert = (
                await session.execute(
                    select(Delivery).where(Delivery.case_id == case_id, Delivery.step == 1)
                )
            ).scalar_one()
            link = ack.link_token(lead_alert.id, lead_alert.created_at)
            assert link in smtp.bodies()[1]
            assert await ack.acknowledge_link(session, link, None, now=clock()) == (
                "acknowledged"
            )
        clock.advance(minutes=10)
        await asyncio.sleep(0.5)
        assert len(smtp.messages) == 2 and len(webhook.received) == 1
    finally:
        stop.set()
        await task

    async with session_scope() as session:
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert chain.state == "acked" and chain.acked_via == "link"
        # Nobody was signed in: whoever clicked may not be the recipient (a forwarded mail,
        # a scanner), so the acknowledgement names nobody (issue 13).
        assert chain.acked_by_id is None
        # The same link cannot be used twice.
        assert await ack.acknowledge_link(session, link, None, now=clock()) == "used"


async def test_web_form_post_alerts_webhook_and_smtp_within_two_seconds(
    wired: dict,
    client,  # noqa: ANN001
) -> None:
    """The same path from the real form: POST /report, then the worker on the real clock."""
    from helpline.db import utcnow
    from tests.support.web import csrf_from

    smtp, webhook = wired["smtp"], wired["webhook"]
    page = await client.get("/report")
    form = {
        "csrf_token": csrf_from(page.text),
        "reporter_kind": "student",
        "school": "sch-a",
        "what": TEACHER_ABUSE,
    }
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(utcnow, poll_seconds=0.05).run(stop))
    try:
        started = time.monotonic()
        posted = await client.post("/report", data=form)
        assert posted.status_code == 200 and 'id="receipt-code"' in posted.text
        await _wait_until(lambda: webhook.received and smtp.messages)
        assert time.monotonic() - started < 2.0  # from the child's post to both alerts
    finally:
        stop.set()
        await task
    for text in [webhook.received[0].raw, *smtp.bodies()]:
        for word in _forbidden_words():
            assert word not in text, word
    assert webhook.received[0].body["category"] == "受限个案"

"""A notifier that is down: the chain moves on at once AND the failed alerts keep being retried
(capped backoff) until they get through; nothing is dropped or marked as notified."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from escalation.models import Delivery, Escalation
from escalation.outcomes import backoff
from escalation.worker import Worker
from helpline.db import session_scope
from tests.escalation.test_end_to_end import _submit
from triage.models import Case

pytestmark = pytest.mark.asyncio


async def _deliveries(case_id: int) -> list[Delivery]:
    async with session_scope() as session:
        found = await session.execute(
            select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
        )
        return list(found.scalars())


async def test_down_notifiers_move_on_and_keep_retrying(wired: dict, clock) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    webhook.fail_status = 500
    smtp.refuse_to = {"duty.a@demo.invalid"}
    case_id = await _submit()
    worker = Worker(clock)

    await worker.drain()
    # Nobody of step 1 was reached: step 2 (the lead) ran at once, not after 2 minutes.
    assert webhook.attempts == 1
    assert [rcpt for rcpt, _, _ in smtp.messages] == [["lead.a@demo.invalid"]]

    # The failed ones are retried on the backoff of data/escalation/escalation.yaml, capped.
    async with session_scope() as session:
        urgency = (await session.get(Case, case_id)).urgency
    waits = [backoff(n, urgency) for n in range(1, 7)]
    assert waits[:2] == [5, 20] and max(waits) <= 300
    for attempt, wait in enumerate(waits, start=2):
        clock.advance(seconds=wait - 1)
        await worker.drain()
        assert webhook.attempts == attempt - 1  # not before its backoff
        clock.advance(seconds=1)
        await worker.drain()
        assert webhook.attempts == attempt
    first = [d for d in await _deliveries(case_id) if d.step == 0]
    assert {d.channel for d in first} == {"email", "webhook"}
    assert all(d.state == "pending" and d.attempts == 7 for d in first)
    assert {d.last_error for d in first} == {"http_status_500", "smtp_SMTPRecipientsRefused"}

    # Both recover: the next retry (at most 5 minutes later) delivers them, once each.
    webhook.fail_status, smtp.refuse_to = None, set()
    clock.advance(seconds=waits[-1])
    await worker.drain()
    rows = await _deliveries(case_id)
    assert rows and all(d.state == "sent" for d in rows)
    assert not any(d.possible_duplicate for d in rows)
    # Each alert once: one reception per delivery row, on each channel.
    hooks = sorted(r.body["alert_id"] for r in webhook.received)
    mails = sorted(int(m["X-Helpline-Alert-Id"]) for _, m, _ in smtp.messages)
    assert hooks == sorted(d.id for d in rows if d.channel == "webhook")
    assert mails == sorted(d.id for d in rows if d.channel == "email")
    async with session_scope() as session:
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert chain.state == "active" and chain.incident_since is None

"""A notifier that is down: retries with backoff, then the chain moves on; nothing is dropped."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from escalation.models import Delivery, Escalation
from escalation.worker import Worker
from helpline.db import session_scope
from tests.escalation.test_end_to_end import _submit

pytestmark = pytest.mark.asyncio


async def test_down_notifiers_retry_then_next_contact(wired: dict, clock) -> None:  # noqa: ANN001
    smtp, webhook = wired["smtp"], wired["webhook"]
    webhook.fail_status = 500
    smtp.refuse_to = {"duty.a@demo.invalid"}
    case_id = await _submit()
    worker = Worker(clock)

    await worker.drain()
    assert webhook.attempts == 1 and smtp.attempts == 1
    for wait in (5, 20, 60):  # the backoff of data/escalation/escalation.yaml
        clock.advance(seconds=wait - 1)
        await worker.drain()
        assert webhook.attempts < 4  # not before its backoff
        clock.advance(seconds=1)
        await worker.drain()
    assert webhook.attempts == 4 and smtp.attempts >= 4
    # Nobody of step 1 could be reached: step 2 ran at once, not after its 2 minutes.
    assert [rcpt for rcpt, _, _ in smtp.messages] == [["lead.a@demo.invalid"]]

    async with session_scope() as session:
        rows = list(
            (
                await session.execute(
                    select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
                )
            ).scalars()
        )
        first = [d for d in rows if d.step == 0]
        assert {d.channel for d in first} == {"email", "webhook"}
        assert all(d.state == "failed" and d.attempts == 4 for d in first)
        assert {d.last_error for d in first} == {"http_status_500", "smtp_SMTPRecipientsRefused"}
        assert [(d.step, d.state) for d in rows if d.step > 0] == [(1, "sent")]
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert chain.state == "active" and chain.step == 1

    # The webhook recovers; no acknowledgement: after step 2's wait, step 3 (district duty).
    webhook.fail_status = None
    clock.advance(minutes=3, seconds=1)
    await worker.drain()
    assert smtp.messages[-1][0] == ["duty.district@demo.invalid"]

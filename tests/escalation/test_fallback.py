"""Fallback routing through real intake, the real worker and a local SMTP server.

- A sexual-abuse case at 示范区实验小学 (no safeguarding lead of its own) goes up to the
  district: `case.routed_up` is audited and the district's lead gets the alert.
- A case at a school that has its own lead does not go up.
- An emergency acknowledged by a duty officer who may not take it, and taken by nobody, is
  alerted again to those who may take it after unowned_emergency_minutes, instead of waiting
  for the policy's 30-minute re-alert.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from escalation import ack
from escalation.models import Delivery, Escalation
from escalation.worker import Worker
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.escalation.conftest import MONDAY_10, TEACHER_ABUSE
from tests.escalation.support import Clock
from tests.support.smtp import SmtpSink
from triage.intake import Intake, receive
from triage.models import StaffUser

pytestmark = pytest.mark.asyncio
CRISIS = "我真的不想活了，今晚就想从楼上跳下去，活着太痛苦了"


@pytest_asyncio.fixture
async def mail(db_url: str) -> AsyncIterator[SmtpSink]:
    from assembly import wiring
    from helpline.settings import reset_settings

    with SmtpSink() as sink:
        os.environ["HELPLINE_SMTP_HOST"] = "127.0.0.1"
        os.environ["HELPLINE_SMTP_PORT"] = str(sink.port)
        reset_settings()
        wiring.wire_hooks()
        yield sink
    for name in ("HELPLINE_SMTP_HOST", "HELPLINE_SMTP_PORT"):
        os.environ.pop(name, None)
    reset_settings()


async def _submit(text: str, org: str | None, ref: str) -> int:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref=ref,
                text=text,
                org_code=org,
                received_at=MONDAY_10,
                new_case=True,
                with_receipt=True,
            ),
        )
        return got.case.id


async def _events(case_id: int, action: str) -> list[AuditEvent]:
    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == action, AuditEvent.object_id == str(case_id)
                    )
                )
            ).scalars()
        )


async def _recipients(case_id: int, purpose: str) -> set[str]:
    async with session_scope() as session:
        rows = await session.execute(
            select(StaffUser.username)
            .join(Delivery, Delivery.staff_id == StaffUser.id)
            .where(Delivery.case_id == case_id, Delivery.purpose == purpose)
        )
        return set(rows.scalars())


async def test_restricted_case_at_a_school_without_lead_goes_up(mail: SmtpSink) -> None:
    case_id = await _submit(TEACHER_ABUSE, "sch-b", "fb-1")
    routed = await _events(case_id, "case.routed_up")
    assert len(routed) == 1
    assert routed[0].details["org"] == "sch-b" and routed[0].details["to"] == "qp-demo"
    assert routed[0].details["restricted"] is True
    assert await _recipients(case_id, "fallback") == {"lead.district"}

    await Worker(Clock(MONDAY_10)).drain()
    assert "lead.district@demo.invalid" in {r for rcpt, _, _ in mail.messages for r in rcpt}


async def test_a_school_with_its_own_lead_keeps_its_case(mail: SmtpSink) -> None:
    case_id = await _submit(TEACHER_ABUSE, "sch-a", "fb-2")
    assert await _events(case_id, "case.routed_up") == []
    assert await _recipients(case_id, "fallback") == set()


async def test_unowned_emergency_is_alerted_up_instead_of_waiting(mail: SmtpSink) -> None:
    clock = Clock(MONDAY_10)
    case_id = await _submit(CRISIS, None, "fb-3")  # no school: the district's case
    worker = Worker(clock)
    await worker.drain()
    async with session_scope() as session:
        duty = (
            await session.execute(select(StaffUser).where(StaffUser.username == "duty.district"))
        ).scalar_one()
        # The district's duty officer acknowledges: the chain stops, but they may not take it.
        assert await ack.acknowledge_case(session, case_id, duty.id, now=clock()) == 1
    clock.advance(minutes=4)
    await worker.drain()
    assert await _recipients(case_id, "unowned") == set()  # not yet
    clock.advance(minutes=2)  # 6 minutes after the acknowledgement (policy reack: 30)
    await worker.drain()
    assert await _recipients(case_id, "unowned") == {"counsellor.district", "lead.district"}
    assert len(await _events(case_id, "escalation.unowned")) == 1
    async with session_scope() as session:
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        assert chain.state == "active"  # and it goes on up its steps
    rcpt = {r for rcpt, _, _ in mail.messages for r in rcpt}
    assert {"counsellor.district@demo.invalid", "lead.district@demo.invalid"} <= rcpt


async def test_a_taken_emergency_is_not_alerted_again_early(mail: SmtpSink) -> None:
    clock = Clock(MONDAY_10)
    case_id = await _submit(CRISIS, None, "fb-4")
    worker = Worker(clock)
    await worker.drain()
    async with session_scope() as session:
        staff = {s.username: s for s in (await session.execute(select(StaffUser))).scalars()}
        await ack.acknowledge_case(session, case_id, staff["duty.district"].id, now=clock())
        from triage.models import Case
        from triage.queue import claim

        case = await session.get(Case, case_id)
        await claim(session, staff["counsellor.district"], case)
    clock.advance(minutes=6)
    await worker.drain()
    assert await _recipients(case_id, "unowned") == set()
    assert await _events(case_id, "escalation.unowned") == []

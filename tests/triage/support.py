"""Helpers for triage tests: cases are created the way channels create them (intake)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from helpline.db import session_scope
from triage.intake import Intake, receive
from triage.models import Case, StaffUser

BULLYING = "同学天天打我，还抢我的钱，我不敢去学校"
SEXUAL_ABUSE = "老师摸我下面，不让我告诉别人"
FRAUD = "有人说我中奖了让我转账"


async def new_case(
    text: str, org: str = "sch-a", ref: str | None = None, at: datetime | None = None
) -> int:
    """A case opened through triage.intake.receive; returns its id."""
    async with session_scope() as s:
        got = await receive(
            s,
            Intake(
                channel="web",
                reporter_ref=ref or f"ref-{org}-{text[:4]}-{at}",
                text=text,
                org_code=org,
                new_case=True,
                received_at=at,
            ),
        )
        return got.case.id


async def new_call(text: str, org: str, operator_id: int) -> int:
    """A phone call logged by a hotline operator (as bot/calls.py logs it); returns its case id."""
    async with session_scope() as s:
        got = await receive(
            s,
            Intake(
                channel="phone",
                reporter_ref=f"call:{org}-{text[:4]}-{operator_id}",
                text=text,
                reporter_kind="parent",
                org_code=org,
                logged_by=operator_id,
            ),
        )
        return got.case.id


async def staff_id(username: str) -> int:
    async with session_scope() as s:
        return (
            await s.execute(select(StaffUser.id).where(StaffUser.username == username))
        ).scalar_one()


async def load_case(case_id: int) -> Case:
    async with session_scope() as s:
        case = await s.get(Case, case_id)
        assert case is not None
        return case


async def roster_ids(code: str) -> tuple[int, int, int]:
    """A duty shift of school `code`, a new override there (its first shift's person, for the
    next hour) and an escalation policy: ids for the administration routes' tests."""
    from datetime import timedelta

    from sqlalchemy import select

    from escalation.models import DutyOverride, DutyShift, EscalationPolicy
    from helpline.db import session_scope, utcnow
    from triage.models import Organisation

    async with session_scope() as s:
        org = (await s.execute(select(Organisation).where(Organisation.code == code))).scalar_one()
        shift = (
            await s.execute(select(DutyShift).where(DutyShift.org_id == org.id).limit(1))
        ).scalar_one()
        policy = (await s.execute(select(EscalationPolicy.id).limit(1))).scalar_one()
        override = DutyOverride(
            org_id=org.id,
            staff_id=shift.staff_id,
            starts_at=utcnow(),
            ends_at=utcnow() + timedelta(hours=1),
        )
        s.add(override)
        await s.flush()
        return shift.id, override.id, policy

"""A step of a chain that reaches nobody (nobody active on duty) does not count: the next step
runs at once, in the same run of the worker, not through a timer of its own per empty step
(under a burst of reports each such timer cost a claim cycle before the first alert)."""

from __future__ import annotations

from sqlalchemy import select, update

from escalation.models import Delivery, Timer
from escalation.timers import TimerKind
from escalation.worker import Worker
from helpline.db import session_scope
from tests.escalation.support import Clock, SmtpSink, emergency_case
from triage.models import StaffUser


async def test_steps_that_reach_nobody_are_passed_in_one_run(mail: SmtpSink, clock: Clock) -> None:
    async with session_scope() as session:
        # sch-a's people on duty and its lead are away: its two steps reach nobody.
        await session.execute(
            update(StaffUser)
            .where(StaffUser.username.in_(["duty.a", "lead.a"]))
            .values(active=False)
        )
    case_id = await emergency_case(clock(), ref="empty-steps-1")
    await Worker(clock).drain()

    async with session_scope() as session:
        steps = (
            await session.execute(
                select(Timer.step, Timer.state).where(Timer.kind == TimerKind.step)
            )
        ).all()
        alerted = (
            await session.execute(select(Delivery.step).where(Delivery.case_id == case_id))
        ).scalars()
        steps_alerted = set(alerted)
    # The district's duty officer (step 2) is alerted...
    assert steps_alerted == {2}
    # ...and the empty steps 0 and 1 made no timers of their own: the first step's timer is
    # done and the next one waits for step 3.
    assert sorted((s, str(state)) for s, state in steps) == [(0, "done"), (3, "pending")]

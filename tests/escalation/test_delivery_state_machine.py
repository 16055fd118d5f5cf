"""Stateful property test of alert delivery (issue 13), Hypothesis RuleBasedStateMachine.

Random sequences of reports (through real intake and NLU), the e-mail channel going down and
up (a real aiosmtpd server refusing), acknowledgements, closes, relabels, worker crashes (a
batch claimed and abandoned, as by SIGKILL: its lease runs out and another worker takes it)
and time passing. After every step:

* an open case of urgency high or emergency has a live escalation or an acknowledgement;
* no alert is sent for a closed case;
* every undelivered alert of a live chain is being retried (a due timer) or waits behind a
  channel of the same person that is being tried, and a live chain that has tried and reached
  nobody is a visible incident; no alert is ever left `failed`;
* no alert carries message text or names.

The example count is kept small: the suite runs twice in CI (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, update

from escalation import ack, incidents
from escalation.models import Delivery, Escalation, StatutoryReport, Timer
from escalation.outcomes import LIVE
from escalation.worker import Worker
from helpline.db import dispose_engine, session_scope
from tests.escalation.conftest import MONDAY_10
from tests.escalation.support import Clock
from tests.support.smtp import SmtpSink
from triage import casework
from triage.intake import Intake, receive
from triage.models import Case, StaffUser

T = TypeVar("T")

# Mostly urgent messages (an emergency, sexual abuse by a teacher), some that start no chain.
MESSAGES = [
    "我现在站在学校楼顶，马上就跳下去",
    "我们班主任刘建国老师晚上把我叫到办公室摸我的身体，还不让我告诉别人，我好害怕",
    "我现在站在学校楼顶，马上就跳下去",
    "最近考试压力有点大，睡不太好",
]
NAMES = ["王老师", "李老师", "张主任", "赵值班", "钱值班", "孙值班", "周接线", "吴管理", "郑审计"]
WORDS = ["楼顶", "跳下去", "刘建国", "班主任", "办公室", "垃圾桶", "考试压力", "睡不太好"]


class DeliveryMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    mail: SmtpSink

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @initialize()
    def start(self) -> None:
        self.clock = Clock(MONDAY_10)
        self.worker = Worker(self.clock)
        self.cases: list[int] = []
        self.closed: set[int] = set()
        self.seen = len(self.mail.messages)
        self.mail.refuse = False
        self.reporter = 0

    def teardown(self) -> None:
        # The next example starts clean: nothing of this one is due any more.
        async def stop() -> None:
            async with session_scope() as session:
                await session.execute(
                    update(Timer)
                    .where(Timer.state.in_(("pending", "running")))
                    .values(state="done")
                )

        self.run(stop())
        self.mail.refuse = False

    # -- rules ----------------------------------------------------------------------------
    @rule(text=st.sampled_from(MESSAGES))
    def report(self, text: str) -> None:
        self.reporter += 1

        async def go() -> int:
            async with session_scope() as session:
                got = await receive(
                    session,
                    Intake(
                        channel="web",
                        reporter_ref=f"sm-{id(self)}-{self.reporter}",
                        text=text,
                        org_code="sch-a",
                        received_at=self.clock(),
                        new_case=True,
                    ),
                )
                return got.case.id

        self.cases.append(self.run(go()))

    @rule()
    def channel_down(self) -> None:
        self.mail.refuse = True

    @rule()
    def channel_up(self) -> None:
        self.mail.refuse = False

    @rule(seconds=st.sampled_from([1, 20, 45, 130, 400]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)
        self.run(self.worker.drain())

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        case_id = data.draw(st.sampled_from(self.cases))

        async def go() -> None:
            async with session_scope() as session:
                staff = await _staff(session, "duty.a")
                await ack.acknowledge_case(session, case_id, staff.id, self.clock())

        self.run(go())

    @precondition(lambda self: set(self.cases) - self.closed)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        case_id = data.draw(st.sampled_from([c for c in self.cases if c not in self.closed]))

        async def go() -> None:
            async with session_scope() as session:
                await session.execute(
                    update(StatutoryReport)
                    .where(StatutoryReport.case_id == case_id)
                    .values(state="done", made_at=self.clock())
                )
                lead = await _staff(session, "lead.a")
                case = await session.get(Case, case_id)
                assert await casework.close_case(session, lead, case, "resolved", "已处理") == []

        self.run(go())
        self.closed.add(case_id)

    @precondition(lambda self: set(self.cases) - self.closed)
    @rule(
        data=st.data(),
        urgency=st.sampled_from(["low", "medium", "high", "emergency"]),
        label=st.sampled_from(["bullying", "crisis", "general"]),
    )
    def relabel(self, data: st.DataObject, urgency: str, label: str) -> None:
        case_id = data.draw(st.sampled_from([c for c in self.cases if c not in self.closed]))

        async def go() -> None:
            async with session_scope() as session:
                lead = await _staff(session, "lead.a")
                case = await session.get(Case, case_id)
                await casework.relabel(session, lead, case, [label], urgency)

        self.run(go())

    @rule()
    def worker_crashes(self) -> None:
        """A worker claims a batch and dies before sending or recording anything."""
        self.run(Worker(self.clock).claim())
        self.clock.advance(seconds=61)  # its lease (60 s) runs out; this worker takes over
        self.run(self.worker.drain())

    # -- invariants -----------------------------------------------------------------------
    @invariant()
    def checked(self) -> None:
        if not hasattr(self, "cases"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        async with session_scope() as session:
            cases = {
                c.id: c
                for c in (
                    await session.execute(select(Case).where(Case.id.in_(self.cases)))
                ).scalars()
            }
            chains = list(
                (
                    await session.execute(
                        select(Escalation).where(Escalation.case_id.in_(self.cases))
                    )
                ).scalars()
            )
            rows = list(
                (
                    await session.execute(select(Delivery).where(Delivery.case_id.in_(self.cases)))
                ).scalars()
            )
            timers = {
                t.delivery_id
                for t in (
                    await session.execute(
                        select(Timer).where(
                            Timer.kind == "deliver", Timer.state.in_(("pending", "running"))
                        )
                    )
                ).scalars()
            }
            banner = await incidents.summary(session)
        by_case: dict[int, list[Escalation]] = {}
        for chain in chains:
            by_case.setdefault(chain.case_id, []).append(chain)
        by_id = {c.id: c for c in chains}

        for case in cases.values():
            states = {c.state for c in by_case.get(case.id, [])}
            if case.status != "closed" and case.urgency in ("high", "emergency"):
                assert states & {*LIVE, "acked"}, (case.id, case.urgency, states)
            if case.status == "closed":
                assert not states & set(LIVE), (case.id, states)

        for d in rows:
            assert d.state != "failed"
            chain = by_id[d.escalation_id]
            if chain.state not in LIVE:
                continue
            if d.state in ("pending", "sending"):
                assert d.id in timers, (d.id, d.state)
            elif d.state == "standby":
                siblings = [
                    s
                    for s in rows
                    if (s.escalation_id, s.round, s.step, s.staff_id)
                    == (d.escalation_id, d.round, d.step, d.staff_id)
                    and s.id != d.id
                ]
                assert any(s.state in ("pending", "sending", "sent") for s in siblings)
        for chain in chains:
            mine = [d for d in rows if d.escalation_id == chain.id]
            tried = any(d.attempts > 0 for d in mine)
            if chain.state in LIVE and tried and not any(d.state == "sent" for d in mine):
                assert chain.incident_since is not None, chain.id
        if any(c.incident_since is not None and c.state in LIVE for c in chains):
            assert banner.incidents >= 1

        # Alerts that arrived since the last step: none for a case closed before it.
        new = self.mail.messages[self.seen :]
        self.seen = len(self.mail.messages)
        sent_for = {d.id: d.case_id for d in rows}
        for _, message, _ in new:
            alert = int(message["X-Helpline-Alert-Id"])
            assert sent_for.get(alert) not in self.closed_before_step
            body = f"{message['Subject']}\n{message.get_content()}"
            assert not [w for w in [*NAMES, *WORDS] if w in body]
        self.closed_before_step = set(self.closed)

    closed_before_step: set[int] = set()


async def _staff(session: Any, username: str) -> StaffUser:
    return (
        await session.execute(select(StaffUser).where(StaffUser.username == username))
    ).scalar_one()


def test_alert_delivery_state_machine(mail: SmtpSink, db_url: str) -> None:
    loop = asyncio.new_event_loop()
    DeliveryMachine.loop, DeliveryMachine.mail = loop, mail
    try:
        run_state_machine_as_test(
            DeliveryMachine,
            settings=settings(
                max_examples=12,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                database=None,
            ),
        )
    finally:
        loop.run_until_complete(dispose_engine())
        loop.close()

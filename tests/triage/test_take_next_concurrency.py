"""Twenty counsellors press "take the next case" at once: each case goes to exactly one.

Runs on both backends (HELPLINE_TEST_DB=postgresql for the SKIP LOCKED path). Removing both
safeguards of triage.queue.take_next (the row lock and the conditional UPDATE) makes it fail.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from helpline.db import session_scope
from tests.triage.support import BULLYING, FRAUD
from triage import queue
from triage.auth import hash_password
from triage.intake import Intake, receive
from triage.models import Case, Organisation, StaffUser

COUNSELLORS, CASES = 20, 200


async def _setup() -> list[int]:
    async with session_scope() as s:
        org = (
            await s.execute(select(Organisation).where(Organisation.code == "sch-a"))
        ).scalar_one()
        digest = hash_password("not-used-here")
        people = [
            StaffUser(
                org_id=org.id,
                username=f"load.c{i:02d}",
                display_name=f"老师{i}",
                role="counsellor",
                password_hash=digest,
            )
            for i in range(COUNSELLORS)
        ]
        s.add_all(people)
        for i in range(CASES):
            text = BULLYING if i % 2 else FRAUD
            await receive(
                s, Intake(channel="web", reporter_ref=f"r{i}", text=text, org_code="sch-a")
            )
        await s.flush()
        return [p.id for p in people]


async def _worker(staff_id: int, got: list[tuple[int, int]], start: asyncio.Event) -> None:
    await start.wait()
    while True:
        async with session_scope() as s:
            staff = await s.get(StaffUser, staff_id)
            case = await queue.take_next(s, staff)
            if case is None:
                return
            got.append((case.id, staff_id))


async def test_twenty_counsellors_two_hundred_cases(db_url):
    ids = await _setup()
    got: list[tuple[int, int]] = []
    start = asyncio.Event()
    workers = [asyncio.create_task(_worker(i, got, start)) for i in ids]
    start.set()
    await asyncio.gather(*workers)
    case_ids = [case_id for case_id, _ in got]
    assert len(case_ids) == CASES, "a case was lost or handed out twice"
    assert len(set(case_ids)) == CASES, "a case was handed out twice"
    async with session_scope() as s:
        rows = dict((await s.execute(select(Case.id, Case.assignee_id))).all())
        unassigned = (
            await s.execute(select(func.count()).where(Case.assignee_id.is_(None)))
        ).scalar_one()
    assert unassigned == 0
    assert all(rows[case_id] == staff_id for case_id, staff_id in got)
    assert len({staff_id for _, staff_id in got}) > 1  # the work was really shared


async def test_take_next_follows_priority_and_skips_taken(db_url):
    """Sequentially (both backends): most urgent first, each case once, then nothing."""
    await _setup()
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == "counsellor.a"))
        ).scalar_one()
        order = (
            (await s.execute(select(Case.id).order_by(*queue.priority_order()).limit(3)))
            .scalars()
            .all()
        )
        taken = [(await queue.take_next(s, staff)).id for _ in range(3)]
    assert taken == list(order)

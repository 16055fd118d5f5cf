"""`helpline demo generate`: a realistic, clearly fake year of cases for the demo district.

Every case goes through `triage.intake.receive` with its `received_at` set across the year, so
analysis, statutory reports and escalation chains are the real ones. The texts come from
data/registers/demo_messages.yaml and all start with 【演示】. Then staff act through the
owners' functions (reply, acknowledge, record or miss reports, close) and, because those
functions stamp the current time, the demo backdates the resulting times by realistic delays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, reports
from escalation.reports import Made
from helpline.datafiles import data_yaml
from helpline.db import utcnow
from registers.config import local_zone
from triage import casework
from triage.intake import Intake, receive
from triage.models import Case, CaseStatus, Organisation, OrgKind, Role, StaffUser

# Median first-response delay in minutes per urgency (log-normal spread around it).
RESPONSE_MEDIAN = {"emergency": 6, "high": 25, "medium": 120, "low": 360}
REPEAT_SHARE = 0.12  # share of cases written by someone who wrote before
FOLLOW_UP_SHARE = 0.15
UNANSWERED_SHARE = 0.04
CLOSE_SHARE = 0.85
OUTCOMES = ("resolved", "referred", "guardian_informed", "reported")


@dataclass
class _Demo:
    rng: random.Random
    data: dict[str, Any]
    schools: list[Organisation]
    workers: dict[int, StaffUser]
    start: datetime
    end: datetime
    now: datetime
    seed: int


def _load_messages() -> dict[str, Any]:
    return data_yaml("registers", "demo_messages.yaml")


def _staff_words(key: str) -> str:
    """What the generated staff write (demo_messages.yaml `staff_words`)."""
    return str(_load_messages()["staff_words"][key])


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


async def _workers(session: AsyncSession, schools: list[Organisation]) -> dict[int, StaffUser]:
    """Per school, the person who answers: its counsellor, else its safeguarding lead."""
    found = await session.execute(
        select(StaffUser).where(
            StaffUser.role.in_((Role.counsellor, Role.safeguarding_lead)),
            StaffUser.active.is_(True),
        )
    )
    staff = sorted(found.scalars(), key=lambda s: (s.role != Role.counsellor, s.username))
    workers: dict[int, StaffUser] = {}
    for member in staff:
        workers.setdefault(member.org_id, member)
    missing = [s.code for s in schools if s.id not in workers]
    if missing:
        raise ValueError(f"no counsellor or safeguarding lead at {', '.join(missing)}")
    return workers


def _span(year: int, now: datetime) -> tuple[datetime, datetime]:
    zone = local_zone()
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = min(datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC), now - timedelta(hours=6))
    if end <= start:
        raise ValueError("the year has not started yet")
    return start, end


def _moment(demo: _Demo) -> datetime:
    """A time in the span, more often in the evening (when students write)."""
    day = demo.start + timedelta(
        seconds=demo.rng.uniform(0, (demo.end - demo.start).total_seconds())
    )
    local = day.astimezone(local_zone())
    hour = demo.rng.choices(range(24), weights=[1] * 7 + [3] * 9 + [6] * 6 + [2] * 2)[0]
    at = local.replace(hour=hour, minute=demo.rng.randrange(60)).astimezone(UTC)
    return min(max(at, demo.start), demo.end)


async def generate(session: AsyncSession, year: int, seed: int, n_cases: int) -> int:
    """Create `n_cases` fake cases received across `year` (up to now); returns how many."""
    now = utcnow()
    schools = list(
        (
            await session.execute(
                select(Organisation)
                .where(Organisation.kind == OrgKind.school)
                .order_by(Organisation.code)
            )
        ).scalars()
    )
    if not schools:
        raise ValueError("no schools: run `helpline demo load` first")
    start, end = _span(year, now)
    demo = _Demo(
        random.Random(seed),
        _load_messages(),
        schools,
        await _workers(session, schools),
        start,
        end,
        now,
        seed,
    )
    moments = sorted(_moment(demo) for _ in range(n_cases))
    writers: list[tuple[str, str, str, str]] = []  # (channel, ref, kind, school code)
    for number, at in enumerate(moments):
        await _one_case(session, demo, number, at, writers)
    return n_cases


async def _one_case(
    session: AsyncSession,
    demo: _Demo,
    number: int,
    at: datetime,
    writers: list[tuple[str, str, str, str]],
) -> None:
    rng, data = demo.rng, demo.data
    category = _weighted(rng, {k: int(v["weight"]) for k, v in data["categories"].items()})
    spec = data["categories"][category]
    if writers and rng.random() < REPEAT_SHARE:
        channel, ref, kind, code = rng.choice(writers)
    else:
        channel = _weighted(rng, data["channels"])
        ref, kind = f"demo-{demo.seed}-{number}", _weighted(rng, spec["reporters"])
        code = rng.choice(demo.schools).code
        writers.append((channel, ref, kind, code))
    received = await receive(
        session,
        Intake(
            channel=channel,
            reporter_ref=ref,
            text=data["prefix"] + rng.choice(spec["texts"]),
            reporter_kind=kind,
            contact=rng.choice(data["fake_contacts"]) if rng.random() < 0.3 else None,
            org_code=code,
            received_at=at,
            new_case=True,
            with_receipt=True,
        ),
    )
    case = received.case
    if rng.random() < FOLLOW_UP_SHARE:
        later = at + timedelta(minutes=rng.randint(5, 240))
        if later < demo.now:
            text = data["prefix"] + rng.choice(data["follow_ups"])
            await receive(
                session,
                Intake(channel, ref, text, reporter_kind=kind, received_at=later, case_id=case.id),
            )
    await _work(session, demo, case)


def _delay(rng: random.Random, median_minutes: float) -> timedelta:
    return timedelta(minutes=max(0.5, rng.lognormvariate(0, 0.9) * median_minutes))


async def _work(session: AsyncSession, demo: _Demo, case: Case) -> None:
    """Reply, acknowledge the alerts, make (or miss) the reports, close: with realistic delays."""
    rng, staff = demo.rng, demo.workers[case.org_id]
    if rng.random() < UNANSWERED_SHARE:
        return
    answered = case.received_at + _delay(rng, RESPONSE_MEDIAN.get(case.urgency, 120))
    if answered >= demo.now:
        return
    await ack.acknowledge_case(session, case.id, staff.id, now=answered)
    last = case.last_activity_at
    reply = await casework.reply(session, staff, case, _staff_words("reply"))
    reply.created_at = case.first_response_at = answered
    case.last_activity_at = max(last, answered)
    await _reports(session, demo, case, staff)
    closed = answered + timedelta(days=rng.uniform(0.5, 20))
    if closed < demo.now and rng.random() < CLOSE_SHARE:
        await _close(session, demo, case, staff, closed)


async def _reports(session: AsyncSession, demo: _Demo, case: Case, staff: StaffUser) -> None:
    """Most reports in time, some late, a few missed; those not yet due stay open."""
    rng = demo.rng
    for report in await reports.case_reports(session, case.id):
        if report.due_at >= demo.now:
            continue
        allowed = (report.due_at - report.opened_at).total_seconds() / 60
        luck = rng.random()
        if luck < 0.08:
            await reports.mark_missed(session, report.id, report.due_at + timedelta(minutes=1))
            continue
        if luck < 0.20:
            made_at = report.due_at + timedelta(minutes=rng.randint(5, 600))
        else:
            made_at = report.opened_at + timedelta(minutes=allowed * rng.uniform(0.1, 0.95))
        made = Made(
            made_to=_staff_words("made_to"),
            made_at=min(made_at, demo.now),
            reference=f"DEMO-{report.id:05d}",
        )
        # Entered when it was made: the generated year's clock, not today's.
        await reports.record_report(session, report.id, case.id, staff.id, made, at=made.made_at)


async def _close(
    session: AsyncSession, demo: _Demo, case: Case, staff: StaffUser, closed: datetime
) -> None:
    outcome = demo.rng.choice(OUTCOMES)
    blockers = await casework.close_case(
        session, staff, case, outcome, _staff_words("closing_note")
    )
    if not blockers and case.status == CaseStatus.closed:
        case.closed_at = case.last_activity_at = closed

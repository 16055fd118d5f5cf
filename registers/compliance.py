"""Deadline compliance: each statutory report, received -> reported, on time or how late.

A report's clock runs from `opened_at`: the receipt of the message that revealed the duty (the
first message, a later one, or for a counsellor's relabel the latest message at that time).
Whether it was made in time is decided by when it was entered (`recorded_at`), so a record
entered after the deadline is late whatever time is stated (`made_at`, shown beside it).

Escalation offers no listing across cases for a period, so this module holds the read-only query
over escalation's StatutoryReport (and triage's cases, through triage/read.py); it never writes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import ReportState, StatutoryReport
from helpline.db import utcnow
from registers.config import month_of
from registers.stats import ReportOutcome, report_outcome
from triage import read


@dataclass(frozen=True)
class ReportLine:
    report_id: int
    case_number: str
    school: str
    month: str
    kind: str
    authority: str
    received_at: datetime
    due_at: datetime
    made_at: datetime | None  # the time the staff member stated
    recorded_at: datetime | None  # when the record was entered (decides on time or late)
    outcome: str  # on_time | late | missed | pending
    late_minutes: int | None  # how late it was made, or how late it is now if still missing
    minutes_to_report: int | None


@dataclass
class Summary:
    school: str
    month: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    max_late_minutes: int = 0


async def lines(
    session: AsyncSession,
    org_ids: list[int],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> list[ReportLine]:
    """Every statutory report opened in [start, end) for cases of these organisations."""
    now = now or utcnow()
    query = (
        read.of_cases_in(
            select(StatutoryReport, *read.case_columns()),
            StatutoryReport.case_id,
            org_ids,
            with_org=True,
        )
        .where(StatutoryReport.opened_at >= start, StatutoryReport.opened_at < end)
        .order_by(StatutoryReport.opened_at, StatutoryReport.id)
    )
    return [
        _line(report, case_id, received_at, school, now)
        for report, case_id, received_at, school in (await session.execute(query)).all()
    ]


def _line(
    report: StatutoryReport, case_id: int, received_at: datetime, school: str, now: datetime
) -> ReportLine:
    outcome = report_outcome(report.state, report.late_minutes, report.due_at, now)
    late = report.late_minutes
    if outcome == ReportOutcome.missed and report.state != ReportState.done:
        late = max(0, math.ceil((now - report.due_at).total_seconds() / 60))
    taken = None
    if report.made_at is not None:
        taken = max(0, round((report.made_at - report.opened_at).total_seconds() / 60))
    return ReportLine(
        report_id=report.id,
        case_number=f"{received_at:%Y}-{case_id:06d}",
        school=school,
        month=month_of(report.opened_at),
        kind=report.kind,
        authority=report.authority,
        received_at=report.opened_at,
        due_at=report.due_at,
        made_at=report.made_at,
        recorded_at=report.recorded_at,
        outcome=outcome,
        late_minutes=late if outcome in (ReportOutcome.late, ReportOutcome.missed) else None,
        minutes_to_report=taken,
    )


def summarise(found: list[ReportLine]) -> list[Summary]:
    """Counts by (school, month), in order of school then month."""
    groups: dict[tuple[str, str], Summary] = defaultdict(lambda: Summary("", ""))
    for line in found:
        summary = groups[(line.school, line.month)]
        summary.school, summary.month = line.school, line.month
        summary.due += 1
        setattr(summary, line.outcome, getattr(summary, line.outcome) + 1)
        summary.max_late_minutes = max(summary.max_late_minutes, line.late_minutes or 0)
    return [groups[key] for key in sorted(groups)]

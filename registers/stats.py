"""Monthly statistics (月报) per school and district, read-only over triage's and escalation's rows.

Definitions (docs/registers.md repeats them; the tests compute the same figures independently):
- a case belongs to the month in which it was received (local time); merged cases are left out;
- a case counts once under each of its labels (a case can be bullying AND crisis);
- first-response time: minutes from receipt to the first reply; median and p90 (nearest rank)
  over the month's cases that had one;
- statutory reports: those opened in the month for the scope's cases; made in time, made late,
  missed (marked missed, or still due after its deadline) or pending (deadline not yet reached);
- open cases: the month's cases not closed now;
- repeat reporters: reporters of the month's cases with two or more cases up to the month's end.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import ReportState, StatutoryReport
from helpline.db import utcnow
from registers.config import month_bounds, texts, words
from triage import read
from triage.read import OrgLike


@dataclass
class Figures:
    """The month's figures for one organisation (or the whole of a district: `total`)."""

    org_id: int
    code: str
    name: str
    total: bool = False
    cases: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_urgency: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_reporter: Counter[str] = field(default_factory=Counter)
    response_minutes: list[float] = field(default_factory=list)
    reports: Counter[str] = field(default_factory=Counter)
    open_cases: int = 0
    repeat_reporters: int = 0

    @property
    def responded(self) -> int:
        return len(self.response_minutes)

    @property
    def median_minutes(self) -> float | None:
        if not self.response_minutes:
            return None
        return round(statistics.median(self.response_minutes), 1)

    @property
    def p90_minutes(self) -> float | None:
        return percentile(self.response_minutes, 90)


@dataclass
class MonthlyReport:
    month: str
    org_id: int
    code: str
    name: str
    generated_at: datetime
    columns: list[Figures]  # the whole scope first, then each organisation in it


def percentile(values: list[float], pct: int) -> float | None:
    """Nearest-rank percentile (the smallest value with at least pct% of values at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


class ReportOutcome(enum.StrEnum):
    """How a statutory report stands in the statistics and the compliance list."""

    on_time = "on_time"
    late = "late"
    missed = "missed"  # not made by its deadline (made late counts as late)
    pending = "pending"  # not made, deadline ahead


def report_outcome(
    state: str, late_minutes: int | None, due_at: datetime, now: datetime
) -> ReportOutcome:
    """How a statutory report stands: on_time, late, missed or pending."""
    if state == ReportState.done:
        return ReportOutcome.late if late_minutes else ReportOutcome.on_time
    if state == ReportState.missed or due_at <= now:
        return ReportOutcome.missed
    return ReportOutcome.pending


async def scope_orgs(session: AsyncSession, org: OrgLike) -> list[OrgLike]:
    """The organisation and, for a district, its schools (by code)."""
    if not read.is_district(org):
        return [org]
    return [org, *await read.schools_of(session, org.id)]


async def monthly(
    session: AsyncSession, org: OrgLike, month: str, now: datetime | None = None
) -> MonthlyReport:
    """The month's figures for `org` (a school, or a district with each of its schools)."""
    now = now or utcnow()
    start, end = month_bounds(month)
    orgs = await scope_orgs(session, org)
    per_org = {o.id: Figures(o.id, o.code, o.name) for o in orgs}
    total = Figures(org.id, org.code, org.name, total=True)
    rows = await read.month_cases(session, list(per_org), start, end)
    repeaters = await read.repeat_reporters(session, {row.reporter_id for row in rows}, end)
    for row in rows:
        for figures in (total, per_org[row.org_id]):
            _add_case(figures, row)
    for figures in (total, *per_org.values()):
        figures.repeat_reporters = len(
            {r.reporter_id for r in rows if r.reporter_id in repeaters and _in(figures, r)}
        )
    for report_row in await _month_reports(session, list(per_org), start, end):
        outcome = report_outcome(report_row.state, report_row.late_minutes, report_row.due_at, now)
        for figures in (total, per_org[report_row.org_id]):
            figures.reports["due"] += 1
            figures.reports[outcome] += 1
    # A school's own report has one column; a district's has the total, then each organisation.
    columns = [total] if not read.is_district(org) else [total, *per_org.values()]
    return MonthlyReport(month, org.id, org.code, org.name, now, columns)


def _in(figures: Figures, row: Any) -> bool:
    return figures.total or figures.org_id == row.org_id


def _add_case(figures: Figures, row: Any) -> None:
    figures.cases += 1
    figures.by_category.update(dict.fromkeys(row.labels or ["general"], 1))
    figures.by_urgency[row.urgency] += 1
    figures.by_channel[row.channel] += 1
    figures.by_reporter[row.kind] += 1
    if row.first_response_at is not None:
        seconds = (row.first_response_at - row.received_at).total_seconds()
        figures.response_minutes.append(max(0.0, seconds / 60))
    if not read.is_closed(row.status):
        figures.open_cases += 1


async def _month_reports(
    session: AsyncSession, org_ids: list[int], start: datetime, end: datetime
) -> list[Any]:
    query = read.of_cases_in(
        select(
            StatutoryReport.state,
            StatutoryReport.late_minutes,
            StatutoryReport.due_at,
            read.case_org_id(),
        ),
        StatutoryReport.case_id,
        org_ids,
    ).where(StatutoryReport.opened_at >= start, StatutoryReport.opened_at < end)
    return list((await session.execute(query)).all())


# --- the table every view and export is made from -------------------------------------------


@dataclass(frozen=True)
class Row:
    section: str
    item: str
    values: list[int | float | None]
    # Only counts of children are suppressed; a derived figure (median, p90 minutes) is not.
    counts_children: bool = True


def rows(report: MonthlyReport) -> list[Row]:
    """The report as labelled rows, one value per column (no suppression applied here)."""
    cols, said = report.columns, texts("statistics")
    out = [Row(said["cases"]["section"], said["cases"]["total"], [c.cases for c in cols])]
    by = {
        "labels": "by_category",
        "urgencies": "by_urgency",
        "channels": "by_channel",
        "reporter_kinds": "by_reporter",
    }
    for table, section in said["sections"].items():
        for code, word in words(table).items():
            out.append(Row(section, word, [getattr(c, by[table])[code] for c in cols]))
    response = said["response"]
    out += [
        Row(response["section"], response["responded"], [c.responded for c in cols]),
        Row(
            response["section"],
            response["median"],
            [c.median_minutes for c in cols],
            counts_children=False,
        ),
        Row(response["section"], response["p90"], [c.p90_minutes for c in cols], False),
    ]
    reports = said["reports"]
    for key in ("due", *ReportOutcome):
        out.append(Row(reports["section"], reports[key], [c.reports[key] for c in cols]))
    other = said["other"]
    out += [
        Row(other["section"], other["open_cases"], [c.open_cases for c in cols]),
        Row(other["section"], other["repeat_reporters"], [c.repeat_reporters for c in cols]),
    ]
    return out

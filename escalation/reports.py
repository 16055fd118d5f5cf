"""Statutory reports: opened with the case, recorded by staff, missed when late."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import timers
from escalation.config import rules
from escalation.models import ReportState, StatutoryReport, Timer
from escalation.timers import TimerKind
from helpline import audit
from helpline.datafiles import section_text
from helpline.db import utcnow

_said = section_text("escalation", "reports")  # words from data/escalation/texts.yaml

OPEN_STATES = (ReportState.due, ReportState.missed)  # still to be made; done, waived settled


class ReportError(ValueError):
    """A report cannot be recorded as given (the form shows why)."""


def required_kinds(labels: list[str], urgency: str) -> list[str]:
    """The report kinds the statutory rules require for these labels and this urgency."""
    statutory = rules()
    kinds: list[str] = []
    for label in labels:
        category = statutory.categories.get(label)
        if category is not None:
            kinds.extend(category.reports)
    if statutory.is_major_incident(labels, urgency):
        kinds.extend(statutory.raw["major_incident"].get("reports") or [])
    skipped = withheld_kinds(labels)
    return [kind for kind in dict.fromkeys(kinds) if kind not in skipped]


def withheld_kinds(labels: list[str]) -> set[str]:
    """Report kinds these labels forbid: informing the guardians of a child abused at home
    may put the child in danger (skip_when_categories in the rules)."""
    specs = rules().raw["reports"]
    return {
        kind
        for kind, spec in specs.items()
        if set(spec.get("skip_when_categories") or []) & set(labels)
    }


async def open_reports(
    session: AsyncSession, case: Any, since: datetime, new_case: bool = False
) -> list[str]:
    """Open the reports the case now needs and does not have; each due `since` + deadline.

    A report opened earlier that the case's labels now forbid (a guardian notice, once abuse
    at home is known) is waived, so that nobody is pushed to make it. `new_case`: the case was
    opened in this transaction, so it has no reports yet (nothing to read). Returns the kinds
    opened.
    """
    known = [] if new_case else await case_reports(session, case.id)
    existing = {report.kind for report in known}
    await _waive(session, case.id, known, withheld_kinds(list(case.labels)))
    specs = rules().raw["reports"]
    opened = [
        {
            "case_id": case.id,
            "kind": kind,
            "authority": specs[kind]["authority"],
            "form": specs[kind].get("form"),
            "opened_at": since,
            "due_at": since + timedelta(minutes=int(specs[kind]["deadline_minutes"])),
            "state": ReportState.due,
        }
        for kind in required_kinds(list(case.labels), case.urgency)
        if kind not in existing
    ]
    if not opened:
        return []
    # One INSERT for the reports and one for their deadline timers, however many there are
    # (each returned row names its own deadline, so the order of RETURNING does not matter).
    add = insert(StatutoryReport).returning(StatutoryReport.id, StatutoryReport.due_at)
    written = (await session.execute(add, opened)).all()
    due = [(due_at, {"report_id": report_id}) for report_id, due_at in written]
    await timers.schedule_many(session, TimerKind.deadline, due)
    kinds = [row["kind"] for row in opened]
    await audit.record(session, "system", "reports.opened", "case", case.id, kinds=kinds)
    return kinds


async def _waive(
    session: AsyncSession, case_id: int, known: list[StatutoryReport], withheld: set[str]
) -> None:
    for report in known:
        if report.kind in withheld and report.state in OPEN_STATES:
            before = _snapshot(report)
            report.state = ReportState.waived
            await audit.record(
                session,
                "system",
                "report.waived",
                "case",
                case_id,
                report_id=report.id,
                kind=report.kind,
                before=before,
                after=_snapshot(report),
            )


async def case_reports(session: AsyncSession, case_id: int) -> list[StatutoryReport]:
    return list(
        (
            await session.execute(
                select(StatutoryReport)
                .where(StatutoryReport.case_id == case_id)
                .order_by(StatutoryReport.due_at, StatutoryReport.id)
            )
        ).scalars()
    )


def _late_minutes(due_at: datetime, at: datetime) -> int:
    return max(0, math.ceil((at - due_at).total_seconds() / 60))


@timers.handles(TimerKind.deadline)
async def run_deadline(session: AsyncSession, timer: Timer, now: datetime) -> None:
    """A report's deadline timer is due."""
    if timer.report_id is not None:
        await mark_missed(session, timer.report_id, now)


async def mark_missed(session: AsyncSession, report_id: int, now: datetime) -> bool:
    """The deadline passed: a report still due becomes missed (idempotent)."""
    report = await session.get(StatutoryReport, report_id)
    if report is None or report.state != ReportState.due or report.due_at > now:
        return False
    before = _snapshot(report)
    report.state, report.missed_at = ReportState.missed, now
    report.late_minutes = _late_minutes(report.due_at, now)
    await audit.record(
        session,
        "system",
        "report.missed",
        "case",
        report.case_id,
        report_id=report.id,
        kind=report.kind,
        before=before,
        after=_snapshot(report),
    )
    return True


@dataclass(frozen=True)
class Made:
    made_to: str
    made_at: datetime
    reference: str


def _minute(at: datetime) -> datetime:
    # The form states minutes: a report made in the minute the report opened is not "before" it.
    return at.replace(second=0, microsecond=0)


def _check_made_at(report: StatutoryReport, made_at: datetime, now: datetime) -> None:
    """The stated time lies between the report's opening and the moment of entry (evidence)."""
    if made_at > now:
        raise ReportError(_said("made_in_future"))
    if made_at < _minute(report.opened_at):
        raise ReportError(_said("made_before_start"))


def _snapshot(report: StatutoryReport) -> dict[str, Any]:
    """What an audit record keeps of a report: state and times; never whom or the reference."""
    return {
        "state": report.state,
        "made_at": report.made_at.isoformat() if report.made_at else None,
        "recorded_at": report.recorded_at.isoformat() if report.recorded_at else None,
        "made_by": report.made_by_id,
        "late_minutes": report.late_minutes,
    }


async def record_report(
    session: AsyncSession,
    report_id: int,
    case_id: int,
    staff_id: int,
    made: Made,
    at: datetime | None = None,
) -> StatutoryReport:
    """Record who made the report, to whom, when, and its reference.

    `at` is the moment of entry (now; a generator of past data passes its own clock). Whether
    the report was in time is decided by the entry, not by the stated time: a report entered
    after its deadline stays late whatever time is stated (late by the entry), and the stated
    time must lie between the report's opening and the entry.
    """
    now = at or utcnow()
    report = await session.get(StatutoryReport, report_id)
    if report is None or report.case_id != case_id:
        raise ReportError(_said("not_found"))
    if report.state not in OPEN_STATES:
        raise ReportError(_said("settled"))
    if not made.made_to.strip() or not made.reference.strip():
        raise ReportError(_said("fields_missing"))
    _check_made_at(report, made.made_at, now)
    before = _snapshot(report)
    late = _late_minutes(report.due_at, now)
    report.state, report.made_at, report.made_by_id = ReportState.done, made.made_at, staff_id
    report.recorded_at = now
    report.made_to, report.reference = made.made_to.strip()[:200], made.reference.strip()[:100]
    report.late_minutes = late if late > 0 else None
    await audit.record(
        session,
        f"staff:{staff_id}",
        "report.recorded",
        "case",
        case_id,
        report_id=report.id,
        kind=report.kind,
        late_minutes=late,
        stated_late_minutes=_late_minutes(report.due_at, made.made_at),
        before=before,
        after=_snapshot(report),
    )
    return report


async def close_guard(session: AsyncSession, case: Any) -> str | None:
    """A mandatory case may not close while any of its statutory reports is unrecorded."""
    pending = [r for r in await case_reports(session, case.id) if r.state in OPEN_STATES]
    if not pending:
        return None
    return _said("close_blocked", count=len(pending))

"""Duty rosters edited in the console (issue 17).

An organisation's roster is a set of weekly shifts (a statutory holiday's shifts are shifts on
`holiday`) and overrides (one person covers the organisation's whole duty between two
instants). Every change is checked by the coverage check `helpline config check` runs on the
YAML (`coverage.refuse_new_gaps`: the configuration in force, as it is and as it would be) and
refused in the check's words when it opens a gap; it is audited with ids, codes and field names
only; and it is in force for the next alert, since `escalation.roster.on_duty` reads the tables
at every step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import audited, configfile, coverage, roster
from escalation.models import DutyOverride, DutyShift
from helpline import audit
from helpline.datafiles import data_yaml
from helpline.db import utcnow
from helpline.localtime import local_time, local_zone
from triage.models import Organisation, StaffUser

DAY_KEYS: tuple[str, ...] = (*roster.DAYS, "holiday")
ChangeRefused = coverage.ChangeRefused


def words() -> dict[str, Any]:
    """data/escalation/admin.yaml: the editors' confirmations and refusals."""
    return data_yaml("escalation", "admin.yaml")


def _form_refusal(key: str, **fill: Any) -> ChangeRefused:
    return ChangeRefused([words()["form"][key].format(**fill)])


@dataclass(frozen=True)
class ShiftForm:
    """One shift as the form gives it: a person's user name, days, local start and end."""

    staff: str
    days: tuple[str, ...]
    start: str
    end: str


@dataclass(frozen=True)
class GridRow:
    """One span of the week [start, end) and who is on duty in it, one cell per day kind."""

    start: str
    end: str
    cells: tuple[tuple[str, ...], ...]


async def candidates(session: AsyncSession, org: Organisation) -> dict[str, StaffUser]:
    """Who may be put on an organisation's roster: active staff of the organisation, of its
    district (a school's), or of its schools (a district's)."""
    related = select(Organisation.id).where(
        or_(
            Organisation.id == org.id,
            Organisation.id == org.parent_id,
            Organisation.parent_id == org.id,
        )
    )
    found = await session.execute(
        select(StaffUser)
        .where(StaffUser.active.is_(True), StaffUser.org_id.in_(related))
        .order_by(StaffUser.org_id, StaffUser.username)
    )
    return {person.username: person for person in found.scalars()}


def clean_shift(
    people: dict[str, StaffUser], person: str, days: list[str], start: str, end: str
) -> ShiftForm:
    """The form's values checked field by field (ChangeRefused with every problem)."""
    problems = []
    if person not in people:
        problems.append(words()["form"]["unknown_person"])
    chosen = tuple(day for day in DAY_KEYS if day in days)
    if not chosen:
        problems.append(words()["form"]["no_days"])
    start, end = start.strip(), end.strip()
    if not (configfile.is_time(start) and configfile.is_time(end)):
        problems.append(words()["form"]["bad_time"])
    if problems:
        raise ChangeRefused(problems)
    return ShiftForm(person, chosen, start, end)


def week_grid(setup: coverage.Setup, org_code: str) -> tuple[list[str], list[GridRow]]:
    """The week as a grid: columns are the kinds of day (周一 … 周日, 法定节假日, 调休上班日),
    rows the spans between any two shift boundaries, each cell the names on duty
    (`coverage.roster_week`, so the grid shows what the escalation will find)."""
    week = coverage.roster_week(setup, org_code)
    points = sorted({start for _, spans in week for start, _, _ in spans} | {"24:00"})
    rows = []
    for start, end in zip(points, points[1:], strict=False):
        cells = tuple(
            tuple(next((names for s, e, names in spans if s <= start < e), [])) for _, spans in week
        )
        rows.append(GridRow(start, end, cells))
    merged: list[GridRow] = []
    for row in rows:  # spans where nothing changes on any day are one row
        if merged and merged[-1].cells == row.cells:
            merged[-1] = replace(merged[-1], end=row.end)
        else:
            merged.append(row)
    return [label for label, _ in week], merged


async def _record(
    session: AsyncSession, admin: StaffUser, action: str, kind: str, key: int, **details: Any
) -> None:
    await audit.record(session, f"staff:{admin.id}", action, kind, key, **details)


async def add_shift(
    session: AsyncSession, admin: StaffUser, org: Organisation, form: ShiftForm
) -> DutyShift:
    people = await candidates(session, org)
    before = await coverage.from_db(session)
    new = coverage.Shift(
        org.code, form.staff, form.days, form.start, form.end, words()["new_shift"]
    )
    coverage.refuse_new_gaps(before, replace(before, shifts=(*before.shifts, new)))
    shift = DutyShift(
        org_id=org.id,
        staff_id=people[form.staff].id,
        days=list(form.days),
        start=form.start,
        end=form.end,
    )
    session.add(shift)
    await session.flush()
    await _record(
        session,
        admin,
        "roster.shift_added",
        "duty_shift",
        shift.id,
        org=org.code,
        days=list(form.days),
        start=form.start,
        end=form.end,
    )
    return shift


async def _shift_of(session: AsyncSession, org: Organisation, shift_id: int) -> DutyShift:
    shift = await session.get(DutyShift, shift_id)
    if shift is None or shift.org_id != org.id:
        raise _form_refusal("not_found")
    return shift


async def change_shift(
    session: AsyncSession, admin: StaffUser, org: Organisation, shift_id: int, form: ShiftForm
) -> list[str]:
    """Save one shift's new values; returns the names of the fields that changed."""
    shift = await _shift_of(session, org, shift_id)
    people = await candidates(session, org)
    before = await coverage.from_db(session)
    shifts = tuple(
        replace(s, staff=form.staff, days=form.days, start=form.start, end=form.end)
        if s.key == shift_id
        else s
        for s in before.shifts
    )
    coverage.refuse_new_gaps(before, replace(before, shifts=shifts))
    values = {
        "staff_id": people[form.staff].id,
        "days": list(form.days),
        "start": form.start,
        "end": form.end,
    }
    return await audited.set_fields(
        session, admin, shift, values, "roster.shift_changed", "duty_shift", org=org.code
    )


async def remove_shift(
    session: AsyncSession, admin: StaffUser, org: Organisation, shift_id: int
) -> None:
    shift = await _shift_of(session, org, shift_id)
    before = await coverage.from_db(session)
    after = replace(before, shifts=tuple(s for s in before.shifts if s.key != shift_id))
    coverage.refuse_new_gaps(before, after)
    await session.delete(shift)
    await session.flush()
    await _record(session, admin, "roster.shift_removed", "duty_shift", shift_id, org=org.code)


def parse_local(value: str) -> datetime:
    """A datetime-local field (Beijing time, 2026-12-08T09:00) as an aware UTC instant."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _form_refusal("bad_datetime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_zone())
    return parsed.astimezone(UTC)


async def add_override(
    session: AsyncSession,
    admin: StaffUser,
    org: Organisation,
    staff: str,
    starts: str,
    ends: str,
) -> DutyOverride:
    """Someone covers the organisation's whole duty from `starts` to `ends` (local times)."""
    people = await candidates(session, org)
    if staff not in people:
        raise _form_refusal("unknown_person")
    starts_at, ends_at = parse_local(starts), parse_local(ends)
    if ends_at <= starts_at or ends_at <= utcnow():
        raise _form_refusal("override_order")
    longest = int(words()["max_override_days"])
    if ends_at - starts_at > timedelta(days=longest):
        raise _form_refusal("override_too_long", days=longest)
    setup = await coverage.from_db(session)
    span = (local_time(starts_at), local_time(ends_at))
    gaps = coverage.override_gaps(setup, org.code, staff, span)
    if gaps:
        raise ChangeRefused([gap.message for gap in gaps])
    override = DutyOverride(
        org_id=org.id, staff_id=people[staff].id, starts_at=starts_at, ends_at=ends_at
    )
    session.add(override)
    await session.flush()
    await _record(
        session,
        admin,
        "roster.override_added",
        "duty_override",
        override.id,
        org=org.code,
        hours=round((ends_at - starts_at).total_seconds() / 3600, 1),
    )
    return override


async def remove_override(
    session: AsyncSession, admin: StaffUser, org: Organisation, override_id: int
) -> None:
    """Back to the weekly roster (which the coverage check has passed) for that time."""
    override = await session.get(DutyOverride, override_id)
    if override is None or override.org_id != org.id:
        raise _form_refusal("not_found")
    await session.delete(override)
    await session.flush()
    await _record(
        session, admin, "roster.override_removed", "duty_override", override_id, org=org.code
    )


async def overrides(session: AsyncSession, org: Organisation) -> list[DutyOverride]:
    """The organisation's overrides not yet over, soonest first."""
    found = await session.execute(
        select(DutyOverride)
        .where(DutyOverride.org_id == org.id, DutyOverride.ends_at > utcnow())
        .order_by(DutyOverride.starts_at)
    )
    return list(found.scalars())


async def shifts(session: AsyncSession, org: Organisation) -> list[DutyShift]:
    found = await session.execute(
        select(DutyShift).where(DutyShift.org_id == org.id).order_by(DutyShift.id)
    )
    return list(found.scalars())

"""Who is on duty: weekly shifts in local time, overrides, Chinese public holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.config import settings
from escalation.models import DutyOverride, DutyShift
from helpline.localtime import local_zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=1)
def calendar_years() -> frozenset[int]:
    """Years whose holidays and 调休 days the installed chinese-calendar publishes (the State
    Council announces each year in the autumn before; the package raises for later years)."""
    return frozenset(day.year for day in chinese_calendar.holidays)


@lru_cache(maxsize=8192)  # asked for every shift at every check; the calendar is fixed
def day_keys(day: date) -> tuple[str, ...]:
    """The roster keys that apply on `day`, most specific first.

    A statutory holiday is rostered as `holiday` (or as holidays.holiday_as when a roster has
    no holiday shifts); an adjusted working day (调休) on a weekend as holidays.workday_as.
    """
    weekday = DAYS[day.weekday()]
    rules = settings()["holidays"]
    if day.year not in calendar_years():
        return (weekday,)  # a year the calendar does not know yet: plain weekdays
    # chinese_calendar counts every plain weekend as a holiday (with no name): only a named
    # one is a statutory holiday, else a roster's `holiday` shifts would replace every weekend.
    off, name = chinese_calendar.get_holiday_detail(day)
    if off and name is not None:
        return ("holiday", rules["holiday_as"] if day.weekday() < 5 else weekday)
    if not off and day.weekday() >= 5:  # a weekend day that is a working day: 调休
        return (rules["workday_as"],)
    return (weekday,)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def covers(shift: DutyShift, local: datetime, roster_has_holiday: bool) -> bool:
    """The shift of today (or of yesterday, when it crosses midnight) covers `local`."""
    now = local.hour * 60 + local.minute
    start, end = _minutes(shift.start), _minutes(shift.end)
    today = _day_matches(shift.days, local.date(), roster_has_holiday)
    if start < end:
        return today and start <= now < end
    yesterday = _day_matches(shift.days, local.date() - timedelta(days=1), roster_has_holiday)
    return (today and now >= start) or (yesterday and now < end)


def _day_matches(days: list[str], day: date, roster_has_holiday: bool) -> bool:
    keys = day_keys(day)
    if keys[0] == "holiday":
        return ("holiday" in days) if roster_has_holiday else keys[1] in days
    return keys[0] in days


async def on_duty(session: AsyncSession, org_id: int, at: datetime) -> list[int]:
    """Staff ids on duty for `org_id` at `at` (an override replaces the weekly roster)."""
    overrides = (
        await session.execute(
            select(DutyOverride.staff_id).where(
                DutyOverride.org_id == org_id,
                DutyOverride.starts_at <= at,
                DutyOverride.ends_at > at,
            )
        )
    ).scalars()
    covering = list(dict.fromkeys(overrides))
    if covering:
        return covering
    shifts = list(
        (await session.execute(select(DutyShift).where(DutyShift.org_id == org_id))).scalars()
    )
    has_holiday = any("holiday" in shift.days for shift in shifts)
    local = at.astimezone(local_zone())
    return list(dict.fromkeys(s.staff_id for s in shifts if covers(s, local, has_holiday)))


async def on_shift(session: AsyncSession, staff_id: int, at: datetime) -> bool:
    """Whether this person is on shift at `at`, for the console's emergency announcements.

    A person some roster names (a weekly shift, or an override not yet over) is on shift
    while one of those rosters has them on duty (`on_duty`, overrides and holidays included).
    A person no roster names (counsellors usually: the queue is their work) is on shift
    whenever they are signed in."""
    orgs = set(
        (
            await session.execute(
                select(DutyShift.org_id)
                .where(DutyShift.staff_id == staff_id)
                .union(
                    select(DutyOverride.org_id).where(
                        DutyOverride.staff_id == staff_id, DutyOverride.ends_at > at
                    )
                )
            )
        ).scalars()
    )
    if not orgs:
        return True
    for org_id in sorted(orgs):
        if staff_id in await on_duty(session, org_id, at):
            return True
    return False

"""Duty rosters: weekly shifts in Shanghai time, shifts across midnight, holidays, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from escalation import roster
from escalation.models import DutyOverride, DutyShift
from helpline.db import session_scope
from triage.models import Organisation, StaffUser

SH = ZoneInfo("Asia/Shanghai")


def _at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(UTC)


async def _ids(session, *codes: str) -> dict[str, int]:  # noqa: ANN001
    orgs = dict((await session.execute(select(Organisation.code, Organisation.id))).all())
    staff = dict((await session.execute(select(StaffUser.username, StaffUser.id))).all())
    return {**orgs, **staff}


def test_day_keys_follow_the_chinese_calendar(db_url: str) -> None:
    assert roster.day_keys(date(2026, 11, 23)) == ("mon",)
    assert roster.day_keys(date(2026, 10, 1)) == ("holiday", "sun")  # National Day, a Thursday
    assert roster.day_keys(date(2026, 10, 10)) == ("mon",)  # 调休: a Saturday that is worked
    # A year the installed calendar does not publish yet: plain weekdays, no error.
    later = max(roster.calendar_years()) + 1
    assert roster.day_keys(date(later, 10, 1)) == (roster.DAYS[date(later, 10, 1).weekday()],)


async def test_demo_roster_of_school_a(db_url: str) -> None:
    async with session_scope() as session:
        ids = await _ids(session)
        school = ids["sch-a"]
        assert await roster.on_duty(session, school, _at(2026, 11, 23, 10)) == [ids["duty.a"]]
        # The lead's night shift crosses midnight: Monday 23:00 and Tuesday 07:00.
        assert await roster.on_duty(session, school, _at(2026, 11, 23, 23)) == [ids["lead.a"]]
        assert await roster.on_duty(session, school, _at(2026, 11, 24, 7)) == [ids["lead.a"]]
        assert await roster.on_duty(session, school, _at(2026, 11, 24, 7, 30)) == [ids["duty.a"]]
        # Saturday daytime: the lead; a public holiday on a Thursday is rostered like Sunday.
        assert await roster.on_duty(session, school, _at(2026, 11, 28, 10)) == [ids["lead.a"]]
        assert await roster.on_duty(session, school, _at(2026, 10, 1, 10)) == [ids["lead.a"]]
        # The 调休 Saturday 2026-10-10 is a working day: the weekday duty officer.
        assert await roster.on_duty(session, school, _at(2026, 10, 10, 10)) == [ids["duty.a"]]


async def test_holiday_shifts_and_overrides(db_url: str) -> None:
    async with session_scope() as session:
        ids = await _ids(session)
        school = ids["sch-b"]
        session.add(
            DutyShift(
                org_id=school, staff_id=ids["lead.a"], days=["holiday"], start="00:00", end="24:00"
            )
        )
        await session.flush()
        # sch-b has holiday shifts now: on a holiday only they apply.
        assert await roster.on_duty(session, school, _at(2026, 10, 1, 10)) == [ids["lead.a"]]
        assert await roster.on_duty(session, school, _at(2026, 10, 9, 10)) == [ids["duty.b"]]
        start = _at(2026, 11, 23, 9)
        session.add(
            DutyOverride(
                org_id=school,
                staff_id=ids["counsellor.b"],
                starts_at=start,
                ends_at=start + timedelta(hours=2),
            )
        )
        await session.flush()
        assert await roster.on_duty(session, school, _at(2026, 11, 23, 10)) == [ids["counsellor.b"]]
        assert await roster.on_duty(session, school, _at(2026, 11, 23, 11)) == [ids["duty.b"]]

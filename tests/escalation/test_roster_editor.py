"""Duty rosters edited in the console (issue 17): the week grid, a shift changed, added and
removed, a holiday shift, an override. Each change is checked by the coverage check
`helpline config check` runs on the YAML (a change that opens a gap is refused in its words and
nothing is saved), audited without names or addresses, and the next alert goes by it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from escalation import coverage, roster, roster_edit
from escalation.models import DutyOverride, DutyShift
from escalation.worker import Worker
from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from helpline.localtime import local_zone
from tests.escalation.support import Clock, deliveries, emergency_case
from tests.support.smtp import SmtpSink
from tests.support.web import csrf_from, login
from tests.triage.support import staff_id
from triage.models import Organisation, StaffUser

PAGE = "/console/admin/rosters/sch-a"
# Monday 2026-11-16 10:00 in Shanghai: the weekday day shift of sch-a (data/demo).
MONDAY_10 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


async def _shift_of(username: str, org: str) -> DutyShift:
    async with session_scope() as s:
        return (
            (
                await s.execute(
                    select(DutyShift)
                    .join(StaffUser, StaffUser.id == DutyShift.staff_id)
                    .join(Organisation, Organisation.id == DutyShift.org_id)
                    .where(StaffUser.username == username, Organisation.code == org)
                    .order_by(DutyShift.id)
                )
            )
            .scalars()
            .first()
        )


async def _roster_events() -> list[AuditEvent]:
    async with session_scope() as s:
        found = await s.execute(
            select(AuditEvent).where(AuditEvent.action.like("roster.%")).order_by(AuditEvent.id)
        )
        return list(found.scalars())


async def _first_step_staff(case_id: int, at: datetime) -> set[int]:
    """Whom the chain's first step (who is on duty at the school) alerted, once the worker ran
    the step due at `at`."""
    await Worker(Clock(at)).drain()
    return {d.staff_id for d in await deliveries(case_id) if d.step == 0 and d.staff_id}


def _no_personal_data(events: list[AuditEvent]) -> None:
    text = json.dumps([e.details for e in events], ensure_ascii=False)
    for word in ("counsellor", "duty.", "lead.", "@", "王老师", "赵值班", "张主任"):
        assert word not in text, word


async def test_the_week_grid_shows_who_is_on_duty(client) -> None:  # noqa: ANN001
    assert (await login(client, "admin.district")).status_code == 303
    listing = await client.get("/console/admin/rosters")
    assert listing.status_code == 200 and f'href="{PAGE}"' in listing.text
    page = await client.get(PAGE)
    assert page.status_code == 200 and 'id="week-grid"' in page.text
    grid = page.text.split('id="week-grid"')[1].split("</table>")[0]
    for day in ("周一", "周日", "法定节假日"):
        assert day in grid
    # Weekdays 07:30-18:00 the duty officer, nights and weekends the lead (data/demo).
    assert "07:30–18:00" in grid and "赵值班" in grid and "张主任" in grid
    assert "无人值班" not in grid


async def test_a_changed_shift_is_audited_and_the_next_alert_goes_by_it(
    client,  # noqa: ANN001
    mail: SmtpSink,
) -> None:
    shift = await _shift_of("duty.a", "sch-a")
    counsellor = await staff_id("counsellor.a")
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(PAGE)
    saved = await client.post(
        f"{PAGE}/shifts/{shift.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "action": "save",
            "person": "counsellor.a",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "07:30",
            "end": "18:00",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("msg=shift_saved")
    assert (await _shift_of("counsellor.a", "sch-a")).id == shift.id
    (event,) = await _roster_events()
    assert event.action == "roster.shift_changed" and event.details["fields"] == ["staff_id"]
    _no_personal_data([event])
    after = await client.get(saved.headers["location"])
    assert 'id="roster-notice"' in after.text and "王老师" in after.text.split("week-grid")[1]

    # A Monday 10:00 emergency at sch-a: the first step (who is on duty) reaches the new person.
    case_id = await emergency_case(MONDAY_10)
    assert await _first_step_staff(case_id, MONDAY_10) == {counsellor}
    assert ["counsellor.a@demo.invalid"] in [rcpt for rcpt, _, _ in mail.messages]


async def test_a_change_that_leaves_nobody_on_duty_is_refused_in_the_checks_words(
    client,  # noqa: ANN001
) -> None:
    shift = await _shift_of("duty.b", "sch-b")
    async with session_scope() as s:
        before = await coverage.from_db(s)
    after = coverage.Setup(
        before.orgs,
        before.people,
        tuple(x for x in before.shifts if x.key != shift.id),
        before.policies,
        before.groups,
        before.source,
    )
    expected = coverage.new_gaps(before, after)
    assert expected and {g.code for g in expected} == {"on_duty_gap"}

    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get("/console/admin/rosters/sch-b")
    refused = await client.post(
        f"/console/admin/rosters/sch-b/shifts/{shift.id}",
        data={"csrf_token": csrf_from(page.text), "action": "remove"},
    )
    assert refused.status_code == 400 and 'id="roster-refused"' in refused.text
    for gap in expected:
        assert gap.message.replace("'", "&#39;") in refused.text
    assert (await _shift_of("duty.b", "sch-b")).id == shift.id
    # Shortened to the daytime: the nights would have nobody; refused, the typed values kept.
    shortened = await client.post(
        f"/console/admin/rosters/sch-b/shifts/{shift.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "person": "duty.b",
            "days": ["mon", "tue"],
            "start": "08:00",
            "end": "18:00",
        },
    )
    assert shortened.status_code == 400 and "无人值班" in shortened.text
    assert 'value="08:00"' in shortened.text
    assert (await _shift_of("duty.b", "sch-b")).start == "00:00"
    assert await _roster_events() == []


async def test_added_shifts_a_holiday_shift_and_bad_input(client) -> None:  # noqa: ANN001
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(PAGE)
    csrf = csrf_from(page.text)
    # Holiday shifts replace the weekly ones on a statutory holiday: at sch-a the lead's night
    # shift (mon..sun) then no longer runs into the next morning; the check says so.
    holiday = {"person": "duty.a", "days": ["holiday"], "start": "00:00", "end": "24:00"}
    refused = await client.post(f"{PAGE}/shifts", data={"csrf_token": csrf, **holiday})
    assert refused.status_code == 400 and "前一天为法定节假日" in refused.text
    assert "无人值班" in refused.text
    # At sch-b (duty.b round the clock every day) a holiday shift leaves no gap.
    holiday["person"] = "counsellor.b"
    added = await client.post(
        "/console/admin/rosters/sch-b/shifts", data={"csrf_token": csrf, **holiday}
    )
    assert added.status_code == 303 and added.headers["location"].endswith("shift_added")
    async with session_scope() as s:
        days, grid = roster_edit.week_grid(await coverage.from_db(s), "sch-b")
    column = days.index("法定节假日")
    assert all(row.cells[column] == ("李老师",) for row in grid)
    assert all(row.cells[0] == ("钱值班",) for row in grid)

    # The same person twice at once is the check's overlapping_shift; nothing saved.
    overlap = await client.post(
        f"{PAGE}/shifts",
        data={"csrf_token": csrf, "person": "duty.a", "days": ["mon"], "start": "09:00",
              "end": "10:00"},
    )  # fmt: skip
    assert overlap.status_code == 400 and "两个班次重叠" in overlap.text
    for bad in (
        {"person": "nobody", "days": ["mon"], "start": "09:00", "end": "10:00"},
        {"person": "counsellor.a", "days": [], "start": "09:00", "end": "10:00"},
        {"person": "counsellor.a", "days": ["mon"], "start": "25:00", "end": "x"},
        {"person": "counsellor.b", "days": ["mon"], "start": "09:00", "end": "10:00"},
    ):
        answer = await client.post(f"{PAGE}/shifts", data={"csrf_token": csrf, **bad})
        assert answer.status_code == 400 and 'id="roster-refused"' in answer.text, bad
    events = await _roster_events()
    assert [e.action for e in events] == ["roster.shift_added"]
    _no_personal_data(events)


async def test_an_override_takes_the_duty_and_an_unreachable_one_is_refused(
    client,  # noqa: ANN001
) -> None:
    counsellor, duty = await staff_id("counsellor.a"), await staff_id("duty.a")
    tz = local_zone()
    # Tomorrow 09:00-12:00 Beijing time (a weekday or not: the override replaces the roster).
    starts = (utcnow().astimezone(tz) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    ends = starts + timedelta(hours=3)
    fields = {"starts": starts.strftime("%Y-%m-%dT%H:%M"), "ends": ends.strftime("%Y-%m-%dT%H:%M")}
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(PAGE)
    csrf = csrf_from(page.text)

    async with session_scope() as s:
        await s.execute(update(StaffUser).where(StaffUser.id == counsellor).values(email=None))
    refused = await client.post(
        f"{PAGE}/overrides", data={"csrf_token": csrf, "person": "counsellor.a", **fields}
    )
    assert refused.status_code == 400 and "代班" in refused.text
    assert "没有任何提醒渠道地址" in refused.text
    async with session_scope() as s:
        assert (await s.execute(select(DutyOverride))).first() is None
        await s.execute(
            update(StaffUser)
            .where(StaffUser.id == counsellor)
            .values(email="counsellor.a@demo.invalid")
        )
    backwards = await client.post(
        f"{PAGE}/overrides",
        data={"csrf_token": csrf, "person": "counsellor.a", "starts": fields["ends"],
              "ends": fields["starts"]},
    )  # fmt: skip
    assert backwards.status_code == 400
    garbled = await client.post(
        f"{PAGE}/overrides",
        data={"csrf_token": csrf, "person": "counsellor.a", "starts": "tomorrow", "ends": "x"},
    )
    assert garbled.status_code == 400 and "北京时间" in garbled.text

    added = await client.post(
        f"{PAGE}/overrides", data={"csrf_token": csrf, "person": "counsellor.a", **fields}
    )
    assert added.status_code == 303 and added.headers["location"].endswith("override_added")
    listed = await client.get(added.headers["location"])
    assert 'id="overrides"' in listed.text and "王老师" in listed.text.split('id="overrides"')[1]
    # An emergency during the override reaches the one covering, not the weekly roster.
    during = starts + timedelta(hours=1)
    case_id = await emergency_case(during, ref="override-1")
    assert await _first_step_staff(case_id, during) == {counsellor}
    async with session_scope() as s:
        override = (await s.execute(select(DutyOverride))).scalar_one()
    removed = await client.post(f"{PAGE}/overrides/{override.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    later = await emergency_case(during, ref="override-2")
    async with session_scope() as s:
        school = (
            await s.execute(select(Organisation.id).where(Organisation.code == "sch-a"))
        ).scalar_one()
        weekly = set(await roster.on_duty(s, school, during))
    assert counsellor not in weekly and weekly & {duty, await staff_id("lead.a")}
    assert await _first_step_staff(later, during) == weekly
    events = await _roster_events()
    assert [e.action for e in events] == ["roster.override_added", "roster.override_removed"]
    _no_personal_data(events)


async def test_only_administrators_edit_rosters(client) -> None:  # noqa: ANN001
    shift = await _shift_of("duty.a", "sch-a")
    assert (await login(client, "counsellor.a")).status_code == 303
    home = await client.get("/console")
    assert (await client.get(PAGE)).status_code == 403
    assert (await client.get("/console/admin/rosters")).status_code == 403
    posted = await client.post(
        f"{PAGE}/shifts/{shift.id}",
        data={"csrf_token": csrf_from(home.text), "action": "remove"},
    )
    assert posted.status_code == 403 and (await _shift_of("duty.a", "sch-a")).id == shift.id
    assert "/console/admin/rosters" not in home.text


async def test_a_form_without_its_csrf_token_is_refused(client) -> None:  # noqa: ANN001
    shift = await _shift_of("duty.a", "sch-a")
    assert (await login(client, "admin.district")).status_code == 303
    answer = await client.post(f"{PAGE}/shifts/{shift.id}", data={"action": "remove"})
    assert answer.status_code in (400, 403)
    assert (await _shift_of("duty.a", "sch-a")).id == shift.id
    assert (await client.get("/console/admin/rosters/nosuch")).status_code == 404

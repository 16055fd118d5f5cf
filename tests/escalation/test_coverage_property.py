"""Properties of `helpline config check` over generated configurations (Hypothesis).

1. Whatever configuration the check accepts, every kind of case at every organisation has at
   least one person who may take it (triage.permissions) and, at every moment, at least one
   reachable alert recipient (the policy's steps with roster.covers at that very minute) -
   moments drawn from ordinary days, public holidays and 调休 days of every year the calendar
   knows. The check itself reasons over kinds of day and shift boundaries; this asks minute
   by minute.
2. A configuration with one planted gap is refused, and the check names that gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from escalation import configfile, coverage, roster
from triage.policy import URGENCY_ORDER

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TIMES = ["00:00", "06:00", "07:30", "08:00", "12:00", "17:30", "18:00", "22:00", "24:00"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _special_days() -> list[date]:
    """Public holidays and 调休 working days the installed calendar knows."""
    years = roster.calendar_years()
    return sorted(
        day for day in (*chinese_calendar.holidays, *chinese_calendar.workdays) if day.year in years
    )


SPECIAL = _special_days()
FIRST, LAST = min(SPECIAL), max(SPECIAL)


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """A minute of an ordinary day, a public holiday or a 调休 day (Shanghai time, as UTC)."""
    if draw(st.integers(0, 3)):
        day = draw(st.sampled_from(SPECIAL))
    else:
        day = FIRST + timedelta(days=draw(st.integers(0, (LAST - FIRST).days)))
    day = day + timedelta(days=draw(st.sampled_from([0, 0, 0, 1])))  # the day after, too
    minute = draw(st.integers(0, 24 * 60 - 1))
    local = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def _person(username: str, role: str, org: str, email: bool = True) -> dict[str, Any]:
    entry = {"username": username, "display_name": f"名{username}", "role": role, "org": org}
    if email:
        entry["email"] = f"{username}@test.invalid"
    return entry


@st.composite
def day_roster(draw: st.DrawFn, org: str, people: list[str]) -> list[dict[str, Any]]:
    """Shifts covering every minute of every day: a day cut at random points, each piece to
    someone; the last piece may cross midnight into the first."""
    cuts = sorted(draw(st.sets(st.sampled_from(TIMES[1:-1]), max_size=3)))
    bounds = ["00:00", *cuts, "24:00"]
    shifts = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        shifts.append(
            {"staff": draw(st.sampled_from(people)), "days": list(DAYS), "start": start, "end": end}
        )
    return shifts


ON_DUTY_AND_LEAD = [
    {"notify": "on_duty", "org": "school", "wait_minutes": 2},
    {"notify": "role", "role": "safeguarding_lead", "org": "school", "wait_minutes": 3},
    {"notify": "on_duty", "org": "district", "wait_minutes": 5},
]
# Nobody but whoever is on duty: a roster's hole is a moment nobody is alerted.
ON_DUTY_ONLY = [
    {"notify": "on_duty", "org": "school", "wait_minutes": 2},
    {"notify": "on_duty", "org": "district", "wait_minutes": 5},
]


@st.composite
def good_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A configuration without gaps by construction."""
    schools = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    staff = [
        _person("d.counsellor", "counsellor", "d"),
        _person("d.lead", "safeguarding_lead", "d"),
        _person("d.duty", "duty_officer", "d"),
    ]
    rosters = [{"org": "d", "shifts": draw(day_roster("d", ["d.duty", "d.lead"]))}]
    for school in schools:
        people = [f"{school}.lead", f"{school}.duty"]
        staff += [
            _person(people[0], "safeguarding_lead", school),
            _person(people[1], "duty_officer", school),
        ]
        if draw(st.booleans()):
            staff.append(_person(f"{school}.counsellor", "counsellor", school))
        rosters.append({"org": school, "shifts": draw(day_roster(school, people))})
    return {
        "district": {"code": "d", "name": "区"},
        "schools": [{"code": s, "name": f"学校{s}"} for s in schools],
        "staff": staff,
        "duty_rosters": rosters,
        "escalation_policies": [
            {
                "org": "d",
                "name": "区策略",
                "urgencies": list(URGENCY_ORDER),
                "steps": draw(st.sampled_from([ON_DUTY_AND_LEAD, ON_DUTY_ONLY])),
            }
        ],
    }


@st.composite
def perturbed_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A good configuration with random changes that may or may not open a gap."""
    config = draw(good_configs())
    for _ in range(draw(st.integers(0, 3))):
        change = draw(
            st.sampled_from(
                [
                    "drop_person",
                    "no_email",
                    "fallback",
                    "drop_shift",
                    "weekday_only",
                    "holiday_shift",
                    "holiday_shift",
                    "drop_urgency",
                    "role_step_only",
                    "school_policy",
                    "no_sunday",
                    "district_holiday",
                    "district_holiday",
                ]
            )
        )
        staff, rosters = config["staff"], config["duty_rosters"]
        if change == "drop_person" and len(staff) > 1:
            gone = staff.pop(draw(st.integers(0, len(staff) - 1)))["username"]
            for r in rosters:
                r["shifts"] = [s for s in r["shifts"] if s["staff"] != gone]
        elif change == "no_email":
            staff[draw(st.integers(0, len(staff) - 1))].pop("email", None)
        elif change == "fallback":
            school = draw(st.sampled_from(config["schools"]))
            school["fallback"] = "district"
        elif change == "drop_shift":
            r = draw(st.sampled_from(rosters))
            if r["shifts"]:
                r["shifts"].pop(draw(st.integers(0, len(r["shifts"]) - 1)))
        elif change == "weekday_only":
            r = draw(st.sampled_from(rosters))
            for shift in r["shifts"]:
                shift["days"] = DAYS[:5]
        elif change in ("holiday_shift", "district_holiday"):
            r = rosters[0] if change == "district_holiday" else draw(st.sampled_from(rosters))
            if r["shifts"]:
                start, end = sorted(
                    draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2, unique=True))
                )
                r["shifts"].append(
                    {
                        "staff": r["shifts"][0]["staff"],
                        "days": ["holiday"],
                        "start": start,
                        "end": end,
                    }
                )
        elif change == "no_sunday":  # public holidays on weekdays are rostered as Sundays
            r = draw(st.sampled_from(rosters))
            for shift in r["shifts"]:
                shift["days"] = [d for d in shift["days"] if d != "sun"]
        elif change == "drop_urgency":
            policy = config["escalation_policies"][0]
            if len(policy["urgencies"]) > 1:
                policy["urgencies"].remove(draw(st.sampled_from(policy["urgencies"])))
        elif change == "role_step_only":
            config["escalation_policies"][0]["steps"] = [
                {"notify": "role", "role": "safeguarding_lead", "org": "district"}
            ]
        elif change == "school_policy":
            school = draw(st.sampled_from(config["schools"]))["code"]
            config["escalation_policies"].insert(
                0,
                {
                    "org": school,
                    "name": "校策略",
                    "urgencies": ["emergency"],
                    "steps": [{"notify": "on_duty", "org": "school"}],
                },
            )
    return config


def _setup(config: dict[str, Any]) -> coverage.Setup:
    text = yaml.safe_dump(config, allow_unicode=True)
    return coverage.from_file(configfile.parse(text, Path("generated.yaml")))


@SETTINGS
@given(
    config=perturbed_configs(),
    cases=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from(coverage.KINDS),
            st.sampled_from(URGENCY_ORDER),
            moments(),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_accepted_configuration_covers_every_case_at_every_moment(
    config: dict[str, Any], cases: list
) -> None:
    setup = _setup(config)
    gaps = coverage.check(setup)
    event("accepted" if not gaps else "refused")
    if gaps:
        return
    orgs = sorted(setup.orgs)
    for which, kind, urgency, at in cases:
        org = orgs[which % len(orgs)]
        assert coverage.may_take(setup, org, kind), (org, kind)
        assert coverage.covered_takers(setup, org, kind), (org, kind)
        assert coverage.alert_recipients(setup, org, urgency, at), (org, urgency, at)


def _codes(setup: coverage.Setup) -> set[tuple[str, str | None]]:
    gaps = coverage.check(setup)
    return {(gap.code, gap.org) for gap in gaps} | {(gap.code, gap.staff) for gap in gaps}


@SETTINGS
@given(config=good_configs(), data=st.data())
def test_a_planted_gap_is_named(config: dict[str, Any], data: st.DataObject) -> None:
    assert coverage.check(_setup(config)) == []  # good by construction
    school = data.draw(st.sampled_from(config["schools"]))["code"]
    plant = data.draw(
        st.sampled_from(
            [
                "no_lead",
                "roster_hole",
                "holiday_hole",
                "no_email",
                "no_policy",
                "no_district_lead",
                "inverted",
                "overlap",
                "unknown_staff",
            ]
        )
    )
    staff, rosters = config["staff"], config["duty_rosters"]
    roster_ = next(r for r in rosters if r["org"] == school)
    if plant == "no_lead":
        config["staff"] = [s for s in staff if s["username"] != f"{school}.lead"]
        for r in rosters:
            r["shifts"] = [s for s in r["shifts"] if s["staff"] != f"{school}.lead"]
        if not roster_["shifts"]:
            roster_["shifts"] = [
                {"staff": f"{school}.duty", "days": DAYS, "start": "00:00", "end": "24:00"}
            ]
        expected = {("no_taker", school)}
    elif plant == "roster_hole":
        roster_["shifts"].pop(data.draw(st.integers(0, len(roster_["shifts"]) - 1)))
        expected = {("on_duty_gap", school)}
    elif plant == "holiday_hole":
        # A roster with holiday shifts uses only them on holidays: 08:00-18:00 leaves nights.
        roster_["shifts"].append(
            {"staff": f"{school}.duty", "days": ["holiday"], "start": "08:00", "end": "18:00"}
        )
        expected = {("on_duty_gap", school)}
    elif plant == "no_email":
        on_roster = data.draw(st.sampled_from(sorted({s["staff"] for s in roster_["shifts"]})))
        next(s for s in staff if s["username"] == on_roster).pop("email")
        expected = {("no_channel", on_roster)}
    elif plant == "no_policy":
        urgency = data.draw(st.sampled_from(URGENCY_ORDER))
        config["escalation_policies"][0]["urgencies"].remove(urgency)
        expected = {("no_policy", school), ("no_policy", "d")}
    elif plant == "no_district_lead":
        config["staff"] = [s for s in staff if s["username"] != "d.lead"]
        expected = {("no_taker", "d")}
    elif plant == "inverted":
        roster_["shifts"].append(
            {"staff": f"{school}.duty", "days": ["mon"], "start": "09:00", "end": "08:00"}
        )
        expected = {("inverted_shift", school)}
    elif plant == "overlap":
        first = roster_["shifts"][0]
        roster_["shifts"].append({**first, "days": ["wed"]})
        expected = {("overlapping_shift", school)}
    else:
        roster_["shifts"].append(
            {"staff": "nobody.here", "days": ["mon"], "start": "08:00", "end": "09:00"}
        )
        expected = {("unknown_staff", "nobody.here")}
    found = _codes(_setup(config))
    assert expected <= found, (plant, found)


def _district_only(shifts: list[dict[str, Any]]) -> dict[str, Any]:
    """No school; the district's lead and duty officer; a policy alerting whoever is on duty."""
    return {
        "district": {"code": "d", "name": "区"},
        "schools": [],
        "staff": [
            _person("d.lead", "safeguarding_lead", "d"),
            _person("d.duty", "duty_officer", "d"),
        ],
        "duty_rosters": [{"org": "d", "shifts": shifts}],
        "escalation_policies": [
            {
                "org": "d",
                "name": "p",
                "urgencies": list(URGENCY_ORDER),
                "steps": [{"notify": "on_duty", "org": "district"}],
            }
        ],
    }


def test_holidays_and_adjusted_workdays_are_checked() -> None:
    """A roster with no weekend shifts: the check names the weekends, the public holidays that
    fall on weekdays (rostered as Sundays) and nothing on 调休 working Saturdays."""
    config = _district_only(
        [{"staff": "d.duty", "days": DAYS[:5], "start": "00:00", "end": "24:00"}]
    )
    gaps = [g for g in coverage.check(_setup(config)) if g.code == "on_duty_gap"]
    assert gaps, gaps
    text = " ".join(g.message for g in gaps)
    assert "周六" in text and "周日" in text and "法定节假日" in text
    assert "调休上班日" not in text.replace("前一天为调休上班日", "")
    # The same, minute by minute: a 调休 Saturday is covered, a weekday holiday is not.
    setup = _setup(config)
    workday = next(
        d
        for d in chinese_calendar.workdays
        if d.weekday() == 5 and d.year in roster.calendar_years()
    )
    holiday = next(
        d
        for d in chinese_calendar.holidays
        if d.weekday() < 5 and d.year in roster.calendar_years()
    )
    noon = timedelta(hours=4)  # 12:00 in Shanghai
    assert coverage.on_duty(setup, "d", datetime(*workday.timetuple()[:3], tzinfo=UTC) + noon)
    assert not coverage.on_duty(setup, "d", datetime(*holiday.timetuple()[:3], tzinfo=UTC) + noon)


def test_a_plain_weekend_is_not_a_public_holiday() -> None:
    """chinese_calendar calls every weekend a holiday; a roster's `holiday` shifts must apply
    only on named public holidays (before the fix, they replaced every weekend's shifts)."""
    assert roster.day_keys(date(2026, 3, 7)) == ("sat",)  # an ordinary Saturday
    assert roster.day_keys(date(2026, 10, 3)) == ("holiday", "sat")  # National Day on a Saturday
    config = _district_only(
        [
            {"staff": "d.duty", "days": DAYS, "start": "00:00", "end": "24:00"},
            {"staff": "d.lead", "days": ["holiday"], "start": "00:00", "end": "24:00"},
        ]
    )
    setup = _setup(config)
    assert coverage.check(setup) == []
    saturday_noon = datetime(2026, 3, 7, 4, 0, tzinfo=UTC)
    assert coverage.on_duty(setup, "d", saturday_noon) == ["d.duty"]
    assert coverage.on_duty(setup, "d", datetime(2026, 10, 3, 4, 0, tzinfo=UTC)) == ["d.lead"]

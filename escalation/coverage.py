"""Coverage: for every organisation, every kind of case and every moment, who may take it and
who is reachable to alert.

A `Setup` is a configuration seen as a whole: organisations, people, duty shifts, policies and
group channels. It is built from a configuration file before it is loaded (`from_file`) or
from the database of a running service (`from_db`), and `check` lists its gaps in words.

Nothing here has rules of its own: who may take a case is asked of `triage.permissions`
(`can_claim`, on transient objects), who is on duty of `escalation.roster.covers`, which
policy applies mirrors `escalation.chain.choose_policy`. A roster is checked at every moment
of every day the Chinese calendar knows (public holidays and 调休 included) by evaluating
`covers` at each point where some shift starts or ends, once per kind of day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from escalation import roster
from escalation.configfile import ConfigFile
from escalation.models import DutyShift, NotifyKind
from helpline.datafiles import data_yaml, section_text
from helpline.localtime import local_zone
from triage import permissions as perm
from triage.models import Case, Organisation, OrgKind, StaffUser
from triage.policy import URGENCY_ORDER

_said = section_text("escalation", "coverage")  # words from data/escalation/texts.yaml
KINDS = ("ordinary", "restricted")
DAY_MINUTES = 24 * 60


def person_channels(
    email: str | None, phone: str | None, telegram_chat_id: str | None, webhook: str | None
) -> tuple[str, ...]:
    """The personal channels (escalation.notifier registry) that have an address for someone;
    kinds that need no address (data: not_an_address) do not count as a way to reach them."""
    from escalation import notifier

    contact = notifier.Contact(0, email, phone, telegram_chat_id, webhook)
    skip = set(words().get("not_an_address") or ())
    return tuple(
        kind
        for kind in notifier.kinds()
        if kind not in skip
        and (found := notifier.get(kind)) is not None
        and found.personal
        and found.address(contact)
    )


def words() -> dict[str, Any]:
    """data/escalation/coverage.yaml: limits and the words of gaps."""
    return data_yaml("escalation", "coverage.yaml")


@lru_cache(maxsize=1)
def _console_words() -> dict[str, dict[str, str]]:
    from triage.caseview import words as console

    return console()


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    kind: str  # district | school
    parent: str | None = None
    fallback: str | None = None  # "district": its cases may be taken by the district
    where: str = ""


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    role: str
    org: str
    active: bool = True
    channels: tuple[str, ...] = ()  # channels with an address (email, telegram)
    where: str = ""


@dataclass(frozen=True)
class Shift:
    org: str
    staff: str
    days: tuple[str, ...]
    start: str
    end: str
    where: str = ""
    key: int | None = None  # the duty_shifts row (from_db), for the console's editor


@dataclass(frozen=True)
class Policy:
    org: str
    name: str
    urgencies: tuple[str, ...]
    steps: tuple[dict[str, Any], ...]
    where: str = ""
    key: int | None = None  # the escalation_policies row (from_db), for the console's editor


@dataclass(frozen=True)
class Setup:
    orgs: dict[str, Org]
    people: dict[str, Person]
    shifts: tuple[Shift, ...] = ()
    policies: tuple[Policy, ...] = ()
    groups: frozenset[tuple[str, str]] = frozenset()  # (org code, group name)
    source: str = ""
    # Problems found while building (duplicates), reported by check().
    problems: tuple[Gap, ...] = ()

    def district(self) -> Org | None:
        return next((o for o in self.orgs.values() if o.kind == OrgKind.district), None)


@dataclass(frozen=True)
class Gap:
    """One gap, in words, with the ids it concerns (for --json and the console)."""

    code: str
    message: str
    org: str | None = None
    kind: str | None = None
    staff: str | None = None
    urgency: str | None = None
    where: str | None = None
    windows: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, ())}


# --- building a Setup ---------------------------------------------------------------------


def from_file(config: ConfigFile) -> Setup:
    """The Setup of a parsed configuration file (escalation.configfile.read)."""
    data, problems = config.data, []
    orgs: dict[str, Org] = {}
    district = data["district"]
    orgs[district["code"]] = Org(
        district["code"], district["name"], OrgKind.district, where=config.at("district")
    )
    for i, school in enumerate(data.get("schools") or []):
        if school["code"] in orgs:
            problems.append(
                _gap(
                    "duplicate",
                    where=config.at("schools", i),
                    what=_said("school_code"),
                    id=school["code"],
                )
            )
            continue
        orgs[school["code"]] = Org(
            school["code"],
            school["name"],
            OrgKind.school,
            parent=district["code"],
            fallback=school.get("fallback"),
            where=config.at("schools", i),
        )
    people: dict[str, Person] = {}
    profiles = {p["staff"]: p for p in data.get("alert_profiles") or []}
    for i, entry in enumerate(data.get("staff") or []):
        if entry["username"] in people:
            problems.append(
                _gap(
                    "duplicate",
                    where=config.at("staff", i),
                    what=_said("username"),
                    id=entry["username"],
                    staff=entry["username"],
                )
            )
            continue
        hook = profiles.get(entry["username"], {}).get("webhook")
        channels = person_channels(
            entry.get("email"), entry.get("phone"), entry.get("telegram_chat_id"), hook
        )
        people[entry["username"]] = Person(
            entry["username"],
            entry["display_name"],
            entry["role"],
            entry["org"],
            bool(entry.get("active", True)),
            channels,
            config.at("staff", i),
        )
    for i, profile in enumerate(data.get("alert_profiles") or []):
        if profile["staff"] not in people:
            where = config.at("alert_profiles", i)
            problems.append(_gap("unknown_staff", where=where, staff=profile["staff"]))
    shifts = tuple(
        Shift(
            roster_["org"],
            shift["staff"],
            tuple(shift["days"]),
            shift["start"],
            shift["end"],
            config.at("duty_rosters", r, "shifts", s),
        )
        for r, roster_ in enumerate(data.get("duty_rosters") or [])
        for s, shift in enumerate(roster_["shifts"])
    )
    policies = tuple(
        Policy(
            p["org"],
            p["name"],
            tuple(p["urgencies"]),
            tuple(p["steps"]),
            config.at("escalation_policies", i),
        )
        for i, p in enumerate(data.get("escalation_policies") or [])
    )
    groups = frozenset((c["org"], c["name"]) for c in data.get("alert_channels") or [])
    return Setup(orgs, people, shifts, policies, groups, str(config.path), tuple(problems))


async def from_db(session: Any) -> Setup:
    """The Setup of the running service: active staff, rosters, policies and group channels."""
    from sqlalchemy import select

    from escalation.models import AlertChannel, AlertProfile, EscalationPolicy

    rows = list((await session.execute(select(Organisation))).scalars())
    by_id = {org.id: org for org in rows}
    orgs = {
        org.code: Org(
            org.code,
            org.name,
            org.kind,
            parent=by_id[org.parent_id].code if org.parent_id in by_id else None,
            fallback=org.coverage_fallback,
            where=_said("where_org", code=org.code),
        )
        for org in rows
    }
    staff_rows = list((await session.execute(select(StaffUser))).scalars())
    usernames = {s.id: s.username for s in staff_rows}
    hooks = {p.staff_id: p.webhook for p in (await session.execute(select(AlertProfile))).scalars()}
    people = {
        s.username: Person(
            s.username,
            s.display_name,
            s.role,
            by_id[s.org_id].code,
            bool(s.active),
            person_channels(s.email, s.phone, s.telegram_chat_id, hooks.get(s.id)),
            _said("where_person", username=s.username),
        )
        for s in staff_rows
    }
    shifts = tuple(
        Shift(
            by_id[s.org_id].code,
            usernames.get(s.staff_id, f"#{s.staff_id}"),
            tuple(s.days),
            s.start,
            s.end,
            _said("where_shift", id=s.id),
            s.id,
        )
        for s in (await session.execute(select(DutyShift).order_by(DutyShift.id))).scalars()
    )
    policies = tuple(
        Policy(
            by_id[p.org_id].code,
            p.name,
            tuple(p.urgencies),
            tuple(p.steps),
            _said("where_policy", id=p.id),
            p.id,
        )
        for p in (
            await session.execute(
                select(EscalationPolicy)
                .where(EscalationPolicy.active.is_(True))
                .order_by(EscalationPolicy.id)
            )
        ).scalars()
    )
    groups = frozenset(
        (by_id[c.org_id].code, c.name)
        for c in (
            await session.execute(select(AlertChannel).where(AlertChannel.active.is_(True)))
        ).scalars()
    )
    return Setup(orgs, people, shifts, policies, groups, _said("database"))


# --- who may take a case ------------------------------------------------------------------


def _transient(setup: Setup) -> dict[str, Organisation]:
    """ORM organisations that are never added to a session, for the permission functions."""
    ids = {code: i for i, code in enumerate(sorted(setup.orgs), start=1)}
    return {
        code: Organisation(
            id=ids[code],
            kind=org.kind,
            code=code,
            name=org.name,
            parent_id=ids.get(org.parent) if org.parent else None,
        )
        for code, org in setup.orgs.items()
    }


def may_take(setup: Setup, org_code: str, kind: str) -> list[Person]:
    """Everyone who may take a new case of `kind` at `org_code` (triage.permissions decides)."""
    orgs = _transient(setup)
    case_org = orgs[org_code]
    case = Case(org_id=case_org.id, org=case_org, restricted=kind == "restricted", assignee_id=None)
    found = []
    for i, person in enumerate(setup.people.values(), start=1):
        if not person.active or person.org not in orgs:
            continue
        org = orgs[person.org]
        staff = StaffUser(id=i, org_id=org.id, org=org, role=person.role, active=True)
        if perm.can_claim(staff, case):
            found.append(person)
    return found


def takers(setup: Setup, org_code: str, kind: str) -> tuple[list[Person], list[Person]]:
    """(those at the organisation itself, those above it: the district) who may take it."""
    everyone = may_take(setup, org_code, kind)
    local = [p for p in everyone if p.org == org_code]
    return local, [p for p in everyone if p.org != org_code]


def covered_takers(setup: Setup, org_code: str, kind: str) -> list[Person]:
    """Who the configuration says takes the case: its own people, else (a school that declared
    `fallback: district`) the district's."""
    local, upper = takers(setup, org_code, kind)
    if local:
        return local
    org = setup.orgs[org_code]
    return upper if org.kind == OrgKind.school and org.fallback == "district" else []


# --- who is on duty and who is alerted ----------------------------------------------------


def _shift_rows(setup: Setup, org_code: str) -> list[tuple[Shift, DutyShift]]:
    return [
        (s, DutyShift(days=list(s.days), start=s.start, end=s.end))
        for s in setup.shifts
        if s.org == org_code
    ]


def on_duty(setup: Setup, org_code: str, at: datetime) -> list[str]:
    """Usernames on duty at `at` (roster.covers decides; overrides are not configuration)."""
    rows = _shift_rows(setup, org_code)
    has_holiday = any("holiday" in s.days for s, _ in rows)
    local = at.astimezone(local_zone())
    return list(dict.fromkeys(s.staff for s, row in rows if roster.covers(row, local, has_holiday)))


def policy_for(setup: Setup, org_code: str, urgency: str) -> Policy | None:
    """The organisation's own policy for the urgency, else its district's (as the chain)."""
    org = setup.orgs.get(org_code)
    for code in (org_code, org.parent if org else None):
        for policy in setup.policies:
            if code and policy.org == code and urgency in policy.urgencies:
                return policy
    return None


def _targets(step: dict[str, Any]) -> list[dict[str, Any]]:
    return list(step.get("targets") or [step])


def _level_org(setup: Setup, case_org: str, level: str) -> str | None:
    """The school or district a step's `org:` means for a case of `case_org`."""
    org = setup.orgs[case_org]
    if org.kind == OrgKind.school:
        return case_org if level == "school" else org.parent
    return case_org if level == "district" else None


def _reachable(setup: Setup, username: str) -> bool:
    person = setup.people.get(username)
    return bool(person and person.active and person.channels)


def _static_recipients(setup: Setup, case_org: str, target: dict[str, Any]) -> list[str]:
    """The recipients of a target that do not depend on the time."""
    if target["notify"] == "staff":
        return [target["staff"]] if _reachable(setup, target["staff"]) else []
    if target["notify"] == "group":
        org = setup.orgs[case_org]
        return [
            f"group:{target['group']}"
            for code in (case_org, org.parent)
            if code and (code, target["group"]) in setup.groups
        ][:1]
    if target["notify"] == "role":
        org = _level_org(setup, case_org, target.get("org", "school"))
        return [
            p.username
            for p in setup.people.values()
            if org and p.org == org and p.role == target["role"] and _reachable(setup, p.username)
        ]
    return []


def alert_recipients(setup: Setup, case_org: str, urgency: str, at: datetime) -> list[str]:
    """Everyone some step of the case's policy reaches at `at` (person or group channel)."""
    policy = policy_for(setup, case_org, urgency)
    if policy is None:
        return []
    found: list[str] = []
    for step in policy.steps:
        for target in _targets(step):
            if target["notify"] == NotifyKind.on_duty:
                org = _level_org(setup, case_org, target.get("org", "school"))
                if org:
                    found += [u for u in on_duty(setup, org, at) if _reachable(setup, u)]
            else:
                found += _static_recipients(setup, case_org, target)
    return list(dict.fromkeys(found))


# --- every moment: kinds of day and the windows nobody covers -----------------------------


@lru_cache(maxsize=1)
def day_types() -> dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[date, int]]:
    """Every kind of day a roster can meet (its own keys and the previous day's, which decide
    overnight shifts), with its first date and how many days are of that kind, over every
    year the installed calendar knows and a plain week after it."""
    years = roster.calendar_years()
    first, last = date(min(years), 1, 1), date(max(years) + 1, 1, 14)
    found: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[date, int]] = {}
    day, previous = first, roster.day_keys(first - timedelta(days=1))
    while day <= last:
        keys = roster.day_keys(day)
        sig = (previous, keys)
        example, count = found.get(sig, (day, 0))
        found[sig] = (example, count + 1)
        previous, day = keys, day + timedelta(days=1)
    return found


def _day_label(sig: tuple[tuple[str, ...], tuple[str, ...]], example: date) -> str:
    names = words()["day_types"]
    previous, keys = sig

    def label(keys: tuple[str, ...], weekday: int) -> str:
        if keys[0] == "holiday":
            return names["holiday"]
        if weekday >= 5 and keys[0] != roster.DAYS[weekday]:
            return names["workday"]
        return names[keys[0]]

    today = label(keys, example.weekday())
    yesterday = label(previous, (example.weekday() - 1) % 7)
    plain_yesterday = names[roster.DAYS[(example.weekday() - 1) % 7]]
    return (
        today
        if yesterday == plain_yesterday
        else _said("day_after", today=today, after=names["after"], yesterday=yesterday)
    )


@dataclass(frozen=True)
class Window:
    """Minutes [start, end) of the kinds of day listed, with an example date and the count."""

    start: int
    end: int
    days: tuple[str, ...]
    example: date
    count: int

    def hhmm(self) -> tuple[str, str]:
        return _hhmm(self.start), _hhmm(self.end)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def uncovered(setup: Setup, org_codes: Iterable[str], reachable_only: bool = False) -> list[Window]:
    """The windows in which nobody of the rosters of `org_codes` is on duty.

    Coverage changes only where a shift starts or ends, so `roster.covers` is asked at each
    such minute of one example date of every kind of day.
    """
    codes = list(dict.fromkeys(org_codes))
    rows = {code: _shift_rows(setup, code) for code in codes}
    if reachable_only:
        rows = {c: [(s, r) for s, r in rs if _reachable(setup, s.staff)] for c, rs in rows.items()}
    points = sorted(
        {0, DAY_MINUTES}
        | {_minutes(s.start) % DAY_MINUTES for rs in rows.values() for s, _ in rs}
        | {_minutes(s.end) % DAY_MINUTES for rs in rows.values() for s, _ in rs}
    )
    holiday = {c: any("holiday" in s.days for s, _ in rs) for c, rs in rows.items()}
    tz = local_zone()
    gaps: dict[tuple[int, int], list[tuple[str, date, int]]] = {}
    for sig, (example, count) in day_types().items():
        open_from = None
        spans = []
        for start, end in zip(points, points[1:], strict=False):
            local = datetime.combine(example, time(start // 60, start % 60), tzinfo=tz)
            covered = any(
                roster.covers(row, local, holiday[code]) for code in codes for _, row in rows[code]
            )
            if not covered and open_from is None:
                open_from = start
            if covered and open_from is not None:
                spans.append((open_from, start))
                open_from = None
            last = end
        if open_from is not None:
            spans.append((open_from, last))
        for span in spans:
            gaps.setdefault(span, []).append((_day_label(sig, example), example, count))
    windows = []
    for (start, end), found in sorted(gaps.items()):
        labels = tuple(dict.fromkeys(label for label, _, _ in found))
        example = min(e for _, e, _ in found)
        windows.append(Window(start, end, labels, example, sum(c for _, _, c in found)))
    return windows


# --- the check ----------------------------------------------------------------------------


def _gap(code: str, **fill: Any) -> Gap:
    message = words()["gaps"][code].format(**fill)
    keep = {k: fill.get(k) for k in ("org", "kind", "staff", "urgency", "where")}
    return Gap(code, message, **{k: (str(v) if v is not None else None) for k, v in keep.items()})


def org_label(setup: Setup, code: str | None) -> str:
    org = setup.orgs.get(code or "")
    return _said("org_label", code=code, name=org.name) if org else repr(code)


def kind_key(setup: Setup, org_code: str, kind: str) -> str:
    """ordinary / restricted at a school; district_ordinary / district_restricted at a district."""
    org = setup.orgs[org_code]
    return f"district_{kind}" if org.kind == OrgKind.district else kind


def check(setup: Setup) -> list[Gap]:
    """Every gap of the configuration, in words. Empty when every case has an adult who can act."""
    gaps = list(setup.problems)
    gaps += _reference_gaps(setup)
    gaps += _shift_gaps(setup)
    if setup.district() is None:  # an empty database: no case would have anyone
        return [*gaps, _gap("no_district", where=setup.source)]
    gaps += _taker_gaps(setup)
    gaps += _policy_gaps(setup)
    return gaps


def new_gaps(before: Setup, after: Setup) -> list[Gap]:
    """The gaps a change (before -> after) would open: the console's editors refuse a change
    that has any, in these words, as `helpline config check` refuses such a file."""
    known = {(g.code, g.message) for g in check(before)}
    return [g for g in check(after) if (g.code, g.message) not in known]


class ChangeRefused(ValueError):
    """A console change is refused; `reasons` are the check's (or the form's) sentences."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(section_text("escalation", "joining")("reasons").join(reasons))
        self.reasons = reasons


def refuse_new_gaps(before: Setup, after: Setup) -> None:
    """ChangeRefused with the words of every gap the change would open (nothing is saved)."""
    opened = new_gaps(before, after)
    if opened:
        raise ChangeRefused([gap.message for gap in opened])


def override_gaps(setup: Setup, org_code: str, username: str, span: tuple[str, str]) -> list[Gap]:
    """An override hands an organisation's whole duty to one person for a while (`span`: its
    local start and end, for the words): while it lasts, a step that alerts who is on duty
    reaches only that person, so they must be active and have an address."""
    if username in setup.people and _reachable(setup, username):
        return []
    return [
        _gap(
            "override_unreachable",
            where=words()["override_where"],
            org=org_code,
            org_label=org_label(setup, org_code),
            staff=username,
            start=span[0],
            end=span[1],
        )
    ]


def with_channels(setup: Setup, username: str, channels: tuple[str, ...]) -> Setup:
    """The setup with one person reachable on `channels` instead."""
    person = replace(setup.people[username], channels=channels)
    return replace(setup, people={**setup.people, username: person})


def _reference_gaps(setup: Setup) -> list[Gap]:
    gaps = []
    for org in setup.orgs.values():
        if org.fallback and org.kind != OrgKind.school:
            gaps.append(
                _gap(
                    "not_a_school",
                    where=org.where,
                    org=org.code,
                    org_label=org_label(setup, org.code),
                )
            )
    for person in setup.people.values():
        if person.org not in setup.orgs:
            gaps.append(
                _gap("unknown_org", where=person.where, org=person.org, staff=person.username)
            )
    for shift in setup.shifts:
        if shift.org not in setup.orgs:
            gaps.append(_gap("unknown_org", where=shift.where, org=shift.org))
        if shift.staff not in setup.people:
            gaps.append(_gap("unknown_staff", where=shift.where, staff=shift.staff, org=shift.org))
    for policy in setup.policies:
        if policy.org not in setup.orgs:
            gaps.append(_gap("unknown_org", where=policy.where, org=policy.org))
            continue
        for step in policy.steps:
            for target in _targets(step):
                if target["notify"] == "staff" and target["staff"] not in setup.people:
                    gaps.append(
                        _gap(
                            "unknown_staff",
                            where=policy.where,
                            staff=target["staff"],
                            org=policy.org,
                        )
                    )
                if target["notify"] == "group" and not _group_exists(setup, policy, target):
                    gaps.append(
                        _gap(
                            "unknown_group",
                            where=policy.where,
                            org=policy.org,
                            org_label=org_label(setup, policy.org),
                            group=target["group"],
                        )
                    )
    return gaps


def _group_exists(setup: Setup, policy: Policy, target: dict[str, Any]) -> bool:
    """A group target resolves among the case's school and district channels."""
    codes = {policy.org} | {o.code for o in setup.orgs.values() if o.parent == policy.org}
    codes |= {o.parent for o in setup.orgs.values() if o.code == policy.org and o.parent}
    return any((code, target["group"]) in setup.groups for code in codes)


def _week_spans(shift: Shift) -> list[tuple[str, int, int]]:
    """(day, start, end) minute spans of a shift; an overnight shift spills into the next day."""
    start, end = _minutes(shift.start), _minutes(shift.end)
    spans = []
    for day in shift.days:
        if start < end:
            spans.append((day, start, end))
        else:
            spans.append((day, start, DAY_MINUTES))
            if day in roster.DAYS and end:
                following = roster.DAYS[(roster.DAYS.index(day) + 1) % 7]
                spans.append((following, 0, end))
    return spans


def _shift_gaps(setup: Setup) -> list[Gap]:
    gaps = []
    limit = int(words()["max_overnight_hours"]) * 60
    for shift in setup.shifts:
        start, end = _minutes(shift.start), _minutes(shift.end)
        length = end - start if start < end else DAY_MINUTES - start + end
        if start == end or start >= DAY_MINUTES or (start > end and length > limit):
            gaps.append(
                _gap(
                    "inverted_shift",
                    where=shift.where,
                    org=shift.org,
                    org_label=org_label(setup, shift.org),
                    staff=shift.staff,
                    start=shift.start,
                    end=shift.end,
                    hours=round((length % DAY_MINUTES) / 60, 1),
                )
            )
    names = words()["day_types"]
    seen: set[tuple[str, str]] = set()
    for i, first in enumerate(setup.shifts):
        for second in setup.shifts[i + 1 :]:
            if (first.org, first.staff) != (second.org, second.staff):
                continue
            for day, s1, e1 in _week_spans(first):
                clash = [
                    (max(s1, s2), min(e1, e2))
                    for d2, s2, e2 in _week_spans(second)
                    if d2 == day and max(s1, s2) < min(e1, e2)
                ]
                if clash and (second.where, first.where) not in seen:
                    seen.add((second.where, first.where))
                    gaps.append(
                        _gap(
                            "overlapping_shift",
                            where=second.where,
                            org=second.org,
                            org_label=org_label(setup, second.org),
                            staff=second.staff,
                            day=names.get(day, day),
                            start=_hhmm(clash[0][0]),
                            end=_hhmm(clash[0][1]),
                        )
                    )
    return gaps


def _case_orgs(setup: Setup) -> list[Org]:
    """The district first, then its schools (the orgs a case can belong to)."""
    return sorted(setup.orgs.values(), key=lambda o: (o.kind != OrgKind.district, o.code))


def _taker_gaps(setup: Setup) -> list[Gap]:
    gaps = []
    for org in _case_orgs(setup):
        for kind in KINDS:
            if covered_takers(setup, org.code, kind):
                continue
            key = kind_key(setup, org.code, kind)
            gaps.append(
                _gap(
                    "no_taker",
                    org=org.code,
                    org_label=org_label(setup, org.code),
                    kind=key,
                    kind_label=words()["kinds"][key],
                    need=words()["needs"][key],
                )
            )
    return gaps


def _urgency_label(urgency: str) -> str:
    return _console_words().get("urgencies", {}).get(urgency, urgency)


def _window_fill(window: Window) -> dict[str, Any]:
    start, end = window.hhmm()
    return {
        "days": _said("separator").join(window.days),
        "start": start,
        "end": end,
        "example": window.example.isoformat(),
        "count": window.count,
    }


def _policy_gaps(setup: Setup) -> list[Gap]:
    gaps: list[Gap] = []
    named: dict[str, str] = {}  # username -> where it is named
    rostered_orgs: dict[tuple[str, int], set[str]] = {}
    for org in _case_orgs(setup):
        for urgency in URGENCY_ORDER:
            policy = policy_for(setup, org.code, urgency)
            if policy is None:
                gaps.append(
                    _gap(
                        "no_policy",
                        org=org.code,
                        urgency=urgency,
                        org_label=org_label(setup, org.code),
                        urgency_label=_urgency_label(urgency),
                    )
                )
                continue
            gaps += _alert_gaps(setup, org, urgency, policy)
            for index, step in enumerate(policy.steps, start=1):
                for target in _targets(step):
                    _named(setup, org.code, target, policy, named)
                    if target["notify"] == NotifyKind.on_duty:
                        level = _level_org(setup, org.code, target.get("org", "school"))
                        if level:
                            rostered_orgs.setdefault((policy.where, index), set()).add(level)
    for (where, index), codes in rostered_orgs.items():
        policy = next(p for p in setup.policies if p.where == where)
        for code in sorted(codes):
            for username in {s.staff for s in setup.shifts if s.org == code}:
                named.setdefault(username, where)
            for window in uncovered(setup, [code]):
                gaps.append(
                    _gap(
                        "on_duty_gap",
                        where=where,
                        policy=policy.name,
                        step=index,
                        org=code,
                        org_label=org_label(setup, code),
                        **_window_fill(window),
                    )
                )
    for org in _case_orgs(setup):
        for kind in KINDS:
            local, upper = takers(setup, org.code, kind)
            if not local:  # routed up: the district's takers are alerted
                for person in upper:
                    named.setdefault(person.username, person.where)
    for username, where in sorted(named.items()):
        person = setup.people.get(username)
        if person and person.active and not person.channels:
            gaps.append(
                _gap(
                    "no_channel",
                    where=where,
                    staff=username,
                    org=person.org,
                    org_label=org_label(setup, person.org),
                    role_label=_console_words().get("roles", {}).get(person.role, person.role),
                )
            )
    return gaps


def _named(
    setup: Setup, case_org: str, target: dict[str, Any], policy: Policy, named: dict[str, str]
) -> None:
    if target["notify"] == "staff":
        named.setdefault(target["staff"], policy.where)
    elif target["notify"] == "role":
        org = _level_org(setup, case_org, target.get("org", "school"))
        for p in setup.people.values():
            if org and p.org == org and p.role == target["role"]:
                named.setdefault(p.username, policy.where)


def _alert_gaps(setup: Setup, org: Org, urgency: str, policy: Policy) -> list[Gap]:
    """Moments at which no step of the policy reaches anybody for a case of `org`."""
    static = [
        r
        for step in policy.steps
        for t in _targets(step)
        for r in _static_recipients(setup, org.code, t)
    ]
    if static:
        return []
    codes = [
        code
        for step in policy.steps
        for t in _targets(step)
        if t["notify"] == NotifyKind.on_duty
        and (code := _level_org(setup, org.code, t.get("org", "school")))
    ]
    return [
        _gap(
            "alert_gap",
            org=org.code,
            urgency=urgency,
            org_label=org_label(setup, org.code),
            urgency_label=_urgency_label(urgency),
            **_window_fill(window),
        )
        for window in uncovered(setup, codes, reachable_only=True)
    ]


# --- the table the admin console shows ----------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    org: str
    org_label: str
    kind: str
    kind_label: str
    local: tuple[Person, ...]  # those at the organisation who may take it
    upper: tuple[Person, ...]  # those of the district, when the case goes up
    routed_up: bool
    gap: bool


def table(setup: Setup) -> list[CoverageRow]:
    """Who may take each kind of case at each organisation (the admin console's table)."""
    rows = []
    for org in _case_orgs(setup):
        for kind in KINDS:
            local, upper = takers(setup, org.code, kind)
            key = kind_key(setup, org.code, kind)
            rows.append(
                CoverageRow(
                    org.code,
                    org_label(setup, org.code),
                    key,
                    words()["kinds"][key],
                    tuple(local),
                    tuple(upper),
                    not local and bool(upper),
                    not covered_takers(setup, org.code, kind),
                )
            )
    return rows


def roster_week(setup: Setup, org_code: str) -> list[tuple[str, list[tuple[str, str, list[str]]]]]:
    """Per kind of day of an ordinary week (and a holiday, and a 调休 day): the spans and who
    is on duty in each; an empty list of names is a gap."""
    tz = local_zone()
    rows = _shift_rows(setup, org_code)
    points = sorted(
        {0, DAY_MINUTES}
        | {_minutes(s.start) % DAY_MINUTES for s, _ in rows}
        | {_minutes(s.end) % DAY_MINUTES for s, _ in rows}
    )
    out = []
    seen: set[str] = set()
    for sig, (example, _count) in sorted(day_types().items(), key=lambda kv: -kv[1][1]):
        label = _day_label(sig, example)
        # The week, a holiday and a 调休 day; the rest in gaps.
        if label in seen or _said("open_bracket") in label:
            continue
        seen.add(label)
        spans = []
        for start, end in zip(points, points[1:], strict=False):
            at = datetime.combine(example, time(start // 60, start % 60), tzinfo=tz)
            names = [
                setup.people[u].name if u in setup.people else u
                for u in on_duty(setup, org_code, at)
            ]
            spans.append((_hhmm(start), _hhmm(end), names))
        merged: list[tuple[str, str, list[str]]] = []
        for span in spans:
            if merged and merged[-1][2] == span[2]:
                merged[-1] = (merged[-1][0], span[1], span[2])
            else:
                merged.append(span)
        out.append((label, merged))
    order = list(words()["day_types"].values())
    out.sort(key=lambda item: next((i for i, w in enumerate(order) if item[0].startswith(w)), 99))
    return out

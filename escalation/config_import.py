"""Loading rosters, policies and group channels from configuration (demo or administrator)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import notifier
from escalation.models import (
    NOTIFY_KINDS,
    AlertChannel,
    AlertProfile,
    DutyShift,
    EscalationPolicy,
)
from escalation.roster import DAYS
from helpline import audit
from triage.models import Organisation, StaffUser


class SetupError(ValueError):
    """The configuration is wrong; the message names the entry."""


async def _org(session: AsyncSession, code: str) -> Organisation:
    org = (
        await session.execute(select(Organisation).where(Organisation.code == code))
    ).scalar_one_or_none()
    if org is None:
        raise SetupError(f"unknown organisation {code!r}")
    return org


def _check_steps(steps: list[dict[str, Any]]) -> None:
    if not steps:
        raise SetupError("a policy needs at least one step")
    for step in steps:
        if not isinstance(step.get("all_channels", False), bool):
            raise SetupError("all_channels is true or false")
        for target in step.get("targets") or [step]:
            if target.get("notify") not in NOTIFY_KINDS:
                raise SetupError(f"unknown step target {target.get('notify')!r}")


def _check_time(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and 0 <= int(hours) <= 24 and int(minutes) < 60):
        raise SetupError(f"bad shift time {value!r}")
    return value


async def add_policy(session: AsyncSession, spec: dict[str, Any]) -> EscalationPolicy:
    org = await _org(session, spec["org"])
    _check_steps(spec["steps"])
    policy = EscalationPolicy(
        org_id=org.id,
        name=spec["name"],
        urgencies=list(spec["urgencies"]),
        repeat=int(spec.get("repeat", 1)),
        reack_minutes=spec.get("reack_minutes"),
        steps=[dict(step) for step in spec["steps"]],
        active=True,
    )
    session.add(policy)
    await session.flush()
    await audit.record(session, "system", "policy.created", "policy", policy.id, org=org.code)
    return policy


async def add_roster(session: AsyncSession, spec: dict[str, Any]) -> list[DutyShift]:
    org = await _org(session, spec["org"])
    shifts = []
    for entry in spec["shifts"]:
        staff = (
            await session.execute(select(StaffUser).where(StaffUser.username == entry["staff"]))
        ).scalar_one_or_none()
        if staff is None:
            raise SetupError(f"unknown staff {entry['staff']!r}")
        days = [day for day in entry["days"] if day in (*DAYS, "holiday")]
        shift = DutyShift(
            org_id=org.id,
            staff_id=staff.id,
            days=days,
            start=_check_time(entry["start"]),
            end=_check_time(entry["end"]),
        )
        session.add(shift)
        shifts.append(shift)
    await session.flush()
    return shifts


async def add_channel(session: AsyncSession, spec: dict[str, Any]) -> AlertChannel:
    if spec["kind"] not in notifier.group_kinds():
        raise SetupError(f"unknown channel kind {spec['kind']!r}")
    org = await _org(session, spec["org"])
    channel = AlertChannel(
        org_id=org.id,
        name=spec["name"],
        kind=spec["kind"],
        target=spec["url"],
        secret=spec.get("secret"),
        active=True,
    )
    session.add(channel)
    await session.flush()
    return channel


async def set_profile(session: AsyncSession, spec: dict[str, Any]) -> AlertProfile:
    """A person's alert channels in the order to try them (and their own webhook, if any)."""
    staff = (
        await session.execute(select(StaffUser).where(StaffUser.username == spec["staff"]))
    ).scalar_one_or_none()
    if staff is None:
        raise SetupError(f"unknown staff {spec['staff']!r}")
    channels = list(spec.get("channels") or [])
    unknown = [kind for kind in channels if notifier.get(kind) is None]
    if not channels or unknown:
        raise SetupError(f"alert profile of {spec['staff']!r}: unknown channels {unknown}")
    profile = await session.get(AlertProfile, staff.id)
    if profile is None:
        profile = AlertProfile(staff_id=staff.id, channels=channels)
        session.add(profile)
    profile.channels, profile.webhook = channels, spec.get("webhook")
    await session.flush()
    return profile


async def load_config(session: AsyncSession, config: dict[str, Any]) -> None:
    """The duty_rosters, escalation_policies and alert_channels sections; once only."""
    if (await session.execute(select(EscalationPolicy.id).limit(1))).first() is not None:
        return
    for roster in config.get("duty_rosters") or []:
        await add_roster(session, roster)
    for channel in config.get("alert_channels") or []:
        await add_channel(session, channel)
    for policy in config.get("escalation_policies") or []:
        await add_policy(session, policy)
    for profile in config.get("alert_profiles") or []:
        await set_profile(session, profile)

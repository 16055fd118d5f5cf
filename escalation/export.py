"""The configuration in force written back as YAML (issue 17): the console edits the database,
the YAML stays the way to move a configuration between installations and to review it.

The document has the format of data/demo/config.yaml (escalation.configfile's SCHEMA): the
district, its schools, staff with their alert addresses, duty rosters, escalation policies,
alert profiles and group channels. `helpline demo load --config` on an empty database loads it
back to the same configuration (tests/escalation/test_config_export.py). Not in it: passwords
and TOTP keys (new ones are made when it is loaded), overrides (a stand-in for some days is
not configuration) and inactive policies. It holds addresses: written only to a private file.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import AlertChannel, AlertProfile, DutyShift, EscalationPolicy
from triage.models import Organisation, OrgKind, StaffUser

PERSON_FIELDS = ("email", "phone", "telegram_chat_id")


def _present(**values: Any) -> dict[str, Any]:
    """The fields that have a value (the loader's defaults stand for the rest)."""
    return {key: value for key, value in values.items() if value is not None}


async def export_config(session: AsyncSession) -> dict[str, Any]:
    """The configuration the database holds, as the configuration file's document."""
    orgs = list((await session.execute(select(Organisation).order_by(Organisation.id))).scalars())
    district = next((o for o in orgs if o.kind == OrgKind.district), None)
    if district is None:
        raise LookupError("no district")
    codes = {o.id: o.code for o in orgs}
    config: dict[str, Any] = {
        "district": {"code": district.code, "name": district.name, "region": district.region}
    }
    config["schools"] = [
        _present(
            code=o.code,
            name=o.name,
            region=o.region if o.region != district.region else None,
            fallback=o.coverage_fallback,
        )
        for o in orgs
        if o.parent_id == district.id
    ]
    staff = list((await session.execute(select(StaffUser).order_by(StaffUser.id))).scalars())
    usernames = {s.id: s.username for s in staff}
    config["staff"] = [
        _present(
            username=s.username,
            display_name=s.display_name,
            role=s.role,
            org=codes[s.org_id],
            active=None if s.active else False,
            **{name: getattr(s, name) for name in PERSON_FIELDS},
        )
        for s in staff
    ]
    shifts = (await session.execute(select(DutyShift).order_by(DutyShift.id))).scalars()
    rosters: dict[str, list[dict[str, Any]]] = {}
    for shift in shifts:
        rosters.setdefault(codes[shift.org_id], []).append(
            {
                "staff": usernames[shift.staff_id],
                "days": list(shift.days),
                "start": shift.start,
                "end": shift.end,
            }
        )
    config["duty_rosters"] = [{"org": org, "shifts": found} for org, found in rosters.items()]
    policies = await session.execute(
        select(EscalationPolicy)
        .where(EscalationPolicy.active.is_(True))
        .order_by(EscalationPolicy.id)
    )
    config["escalation_policies"] = [
        _present(
            org=codes[p.org_id],
            name=p.name,
            urgencies=list(p.urgencies),
            repeat=p.repeat,
            reack_minutes=p.reack_minutes,
            steps=[dict(step) for step in p.steps],
        )
        for p in policies.scalars()
    ]
    profiles = await session.execute(select(AlertProfile).order_by(AlertProfile.staff_id))
    config["alert_profiles"] = [
        _present(staff=usernames[p.staff_id], channels=list(p.channels), webhook=p.webhook)
        for p in profiles.scalars()
    ]
    channels = await session.execute(
        select(AlertChannel).where(AlertChannel.active.is_(True)).order_by(AlertChannel.id)
    )
    config["alert_channels"] = [
        _present(org=codes[c.org_id], name=c.name, kind=c.kind, url=c.target, secret=c.secret)
        for c in channels.scalars()
    ]
    return config


def dump(config: dict[str, Any]) -> str:
    """The document as YAML text (keys in the schema's order; times quoted, as they must be)."""
    header = (
        "# helpline config-export: the configuration in force (format of data/demo/config.yaml)\n"
    )
    return header + yaml.safe_dump(
        config, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )

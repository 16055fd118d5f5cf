"""A school's details edited in the console (issue 17): its name and whether the district
takes the cases nobody at the school may take (`fallback: district`). Checked by the coverage
check the YAML's schools meet (a change that leaves a kind of case at the school with nobody
who may take it is refused in the check's words), audited with field names only. The school's
contacts are its people's alert addresses (each edited on its own page) and its group
channels, listed beside it."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import audited, coverage, roster_edit
from escalation.models import AlertChannel
from triage.models import Organisation, OrgKind, StaffUser

ChangeRefused = coverage.ChangeRefused
NAME_LENGTH = (2, 200)


async def save(
    session: AsyncSession, admin: StaffUser, school: Organisation, name: str, fallback: bool
) -> list[str]:
    """Store the new values if the coverage check finds no new gap; the changed fields."""
    name = name.strip()
    if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1] or "\n" in name:
        raise ChangeRefused([roster_edit.words()["form"]["school_name"]])
    values = {"name": name, "coverage_fallback": "district" if fallback else None}
    before = await coverage.from_db(session)
    org = replace(before.orgs[school.code], name=name, fallback=values["coverage_fallback"])
    coverage.refuse_new_gaps(before, replace(before, orgs={**before.orgs, school.code: org}))
    return await audited.set_fields(
        session, admin, school, values, "school.changed", "organisation"
    )


async def contacts(session: AsyncSession, school: Organisation) -> tuple[list, list]:
    """(the school's people, its group alert channels), for the page."""
    people = await session.execute(
        select(StaffUser).where(StaffUser.org_id == school.id).order_by(StaffUser.username)
    )
    channels = await session.execute(
        select(AlertChannel).where(AlertChannel.org_id == school.id).order_by(AlertChannel.id)
    )
    return list(people.scalars()), list(channels.scalars())


def is_school(org: Organisation) -> bool:
    return org.kind == OrgKind.school

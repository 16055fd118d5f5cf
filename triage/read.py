"""Triage's read API for the packages above it (the registers): what they may know of
organisations, staff and cases, as frozen rows or query builders, without triage's models.

The queries are the ones the registers ran themselves, so their figures do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from triage.models import Case, CaseStatus, Organisation, OrgKind, Reporter, Role, StaffUser

# The signed-in staff member (what `triage.deps.current_staff` hands a route) and the roles:
# the registers check them; they never query the staff table themselves.
Staff = StaffUser
StaffRole = Role


class OrgLike(Protocol):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None


@dataclass(frozen=True)
class OrgRef:
    """An organisation as the registers see it."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None

    @property
    def is_district(self) -> bool:
        return self.kind == OrgKind.district


@dataclass(frozen=True)
class RegisterCase:
    """A case as the bullying register needs it."""

    id: int
    number: str
    org: OrgRef
    received_at: datetime
    labels: list[str]
    elements: str | None

    @property
    def org_id(self) -> int:
        return self.org.id


def org_ref(org: OrgLike) -> OrgRef:
    return OrgRef(org.id, org.code, org.name, str(org.kind), org.parent_id)


def is_district(org: OrgLike) -> bool:
    return org.kind == OrgKind.district


def is_closed(status: str) -> bool:
    return status == CaseStatus.closed


async def org_by_code(session: AsyncSession, code: str) -> OrgRef | None:
    found = await session.execute(select(Organisation).where(Organisation.code == code))
    org = found.scalar_one_or_none()
    return org_ref(org) if org is not None else None


async def org_by_id(session: AsyncSession, org_id: int) -> OrgRef | None:
    org = await session.get(Organisation, org_id)
    return org_ref(org) if org is not None else None


async def org_codes(session: AsyncSession) -> list[str]:
    """Every organisation's code, sorted."""
    return sorted((await session.execute(select(Organisation.code))).scalars())


async def all_orgs(session: AsyncSession) -> list[OrgRef]:
    found = await session.execute(select(Organisation).order_by(Organisation.id))
    return [org_ref(org) for org in found.scalars()]


async def schools_of(session: AsyncSession, district_id: int) -> list[OrgRef]:
    """A district's schools, by code."""
    found = await session.execute(
        select(Organisation)
        .where(Organisation.parent_id == district_id)
        .order_by(Organisation.code)
    )
    return [org_ref(org) for org in found.scalars()]


async def staff_emails(session: AsyncSession, org_id: int, roles: list[str]) -> list[str]:
    """The e-mail addresses of the organisation's active staff in these roles."""
    found = await session.execute(
        select(StaffUser).where(
            StaffUser.org_id == org_id,
            StaffUser.active.is_(True),
            StaffUser.role.in_(roles),
        )
    )
    return [member.email for member in found.scalars() if member.email]


async def month_cases(
    session: AsyncSession, org_ids: list[int], start: datetime, end: datetime
) -> list[Any]:
    """Rows (id, org_id, reporter_id, channel, labels, urgency, status, received_at,
    first_response_at, kind) of the cases received in [start, end), merged ones left out."""
    query = (
        select(
            Case.id,
            Case.org_id,
            Case.reporter_id,
            Case.channel,
            Case.labels,
            Case.urgency,
            Case.status,
            Case.received_at,
            Case.first_response_at,
            Reporter.kind,
        )
        .join(Reporter, Reporter.id == Case.reporter_id)
        .where(
            Case.org_id.in_(org_ids),
            Case.received_at >= start,
            Case.received_at < end,
            Case.merged_into_id.is_(None),
        )
    )
    return list((await session.execute(query)).all())


async def repeat_reporters(
    session: AsyncSession, reporter_ids: set[int], end: datetime
) -> set[int]:
    """Those of the reporters with at least two (unmerged) cases received before `end`."""
    if not reporter_ids:
        return set()
    query = (
        select(Case.reporter_id)
        .where(
            Case.reporter_id.in_(reporter_ids),
            Case.received_at < end,
            Case.merged_into_id.is_(None),
        )
        .group_by(Case.reporter_id)
        .having(func.count(Case.id) >= 2)
    )
    return set((await session.execute(query)).scalars())


def case_org_id() -> ColumnElement[int]:
    return Case.org_id  # type: ignore[return-value]


def case_columns() -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The case's id, receipt time and organisation's name, for `of_cases_in`'s query."""
    return Case.id, Case.received_at, Organisation.name  # type: ignore[return-value]


def of_cases_in(
    query: Select[Any], case_id: ColumnElement[int], org_ids: list[int], *, with_org: bool = False
) -> Select[Any]:
    """`query` joined to the case `case_id` names, kept to these organisations' unmerged
    cases (`with_org`: the organisation joined too, for its name)."""
    query = query.join(Case, Case.id == case_id)
    if with_org:
        query = query.join(Organisation, Organisation.id == Case.org_id)
    return query.where(Case.org_id.in_(org_ids), Case.merged_into_id.is_(None))


def _register_case(case: Case) -> RegisterCase:
    return RegisterCase(
        case.id,
        case.number,
        org_ref(case.org),  # loaded with the case (joined)
        case.received_at,
        list(case.labels or []),
        case.elements,
    )


async def register_cases(
    session: AsyncSession,
    org_ids: list[int],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[RegisterCase]:
    """These organisations' unmerged cases received in [start, end) (all when not given)."""
    query = (
        select(Case, Organisation.name)
        .join(Organisation, Organisation.id == Case.org_id)
        .where(Case.org_id.in_(org_ids), Case.merged_into_id.is_(None))
        .order_by(Case.received_at, Case.id)
    )
    if start is not None and end is not None:
        query = query.where(Case.received_at >= start, Case.received_at < end)
    return [_register_case(case) for case, _name in (await session.execute(query)).all()]


async def register_case(session: AsyncSession, case_id: int) -> RegisterCase | None:
    case = await session.get(Case, case_id)
    return _register_case(case) if case is not None else None

"""The organisations as every report reads them: one cached table per process.

Loaded once and kept until an administrator changes an organisation (helpline.configcache:
the version stamp, read once per request, tells every process). Plain frozen records, not ORM
objects: they are shared by every request of the process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import configcache
from triage.models import Organisation, OrgKind


@dataclass(frozen=True)
class OrgInfo:
    id: int
    kind: str
    code: str
    name: str
    parent_id: int | None
    region: str
    coverage_fallback: str | None


@dataclass(frozen=True)
class OrgTable:
    by_id: dict[int, OrgInfo]
    by_code: dict[str, OrgInfo]
    schools: tuple[OrgInfo, ...]  # by name, as the web form lists them
    first_district: OrgInfo | None


async def _load(session: AsyncSession) -> OrgTable:
    rows = (await session.execute(select(Organisation).order_by(Organisation.id))).scalars()
    orgs = [
        OrgInfo(o.id, o.kind, o.code, o.name, o.parent_id, o.region, o.coverage_fallback)
        for o in rows
    ]
    schools = sorted((o for o in orgs if o.kind == OrgKind.school), key=lambda o: o.name)
    districts = [o for o in orgs if o.kind == OrgKind.district]
    return OrgTable(
        by_id={o.id: o for o in orgs},
        by_code={o.code: o for o in orgs},
        schools=tuple(schools),
        first_district=districts[0] if districts else None,
    )


async def org_table(session: AsyncSession) -> OrgTable:
    return await configcache.cached(session, "triage.orgs", _load)


async def org_info(session: AsyncSession, org_id: int) -> OrgInfo | None:
    return (await org_table(session)).by_id.get(org_id)

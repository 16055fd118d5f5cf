"""The month's files for one organisation: what the CLI writes and the scheduled delivery keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.db import utcnow
from helpline.files import private_dir, write_private
from registers import compliance, exports
from registers.bullying import register_rows
from registers.config import month_bounds
from registers.stats import monthly, scope_orgs
from triage import read
from triage.read import OrgLike, OrgRef

FILES = (
    "statistics.csv",
    "statistics.xlsx",
    "compliance.csv",
    "compliance.xlsx",
    "bullying-register.xlsx",
)


class UnknownOrganisation(LookupError):
    pass


async def org_by_code(session: AsyncSession, code: str) -> OrgRef:
    org = await read.org_by_code(session, code)
    if org is None:
        raise UnknownOrganisation(code)
    return org


async def build(
    session: AsyncSession,
    org: OrgLike,
    month: str,
    now: datetime | None = None,
    step: Callable[[str], None] = lambda name: None,
) -> dict[str, bytes]:
    """Every file of the month for `org` (a school, or a district with its schools)."""
    now = now or utcnow()
    start, end = month_bounds(month)
    org_ids = [o.id for o in await scope_orgs(session, org)]
    report = await monthly(session, org, month, now)
    step("statistics")
    found = await compliance.lines(session, org_ids, start, end, now)
    summaries = compliance.summarise(found)
    step("compliance")
    register = await register_rows(session, org_ids, start, end)
    step("register")
    files = {
        "statistics.csv": exports.statistics_csv(report),
        "statistics.xlsx": exports.statistics_xlsx(report),
        "compliance.csv": exports.compliance_csv(found),
        "compliance.xlsx": exports.compliance_xlsx(found, summaries, org.name, month, now),
        "bullying-register.xlsx": exports.bullying_xlsx(register, org.name, month, now),
    }
    step("files")
    return files


async def organisation_codes(session: AsyncSession) -> list[str]:
    """Every organisation's code, sorted (named in the error for an unknown code)."""
    return await read.org_codes(session)


def write(files: dict[str, bytes], folder: Path, *, create: bool = True) -> list[Path]:
    """Write the files into `folder`; `create` makes the folder (the scheduler's own)."""
    if create:
        private_dir(folder)
    return [write_private(folder / name, content) for name, content in files.items()]

"""The bullying register (学生欺凌化解处置工作一张表): one row per bullying case.

Rows exist for every case labelled bullying; a BullyingRecord holds what the safeguarding lead
recorded (investigation, determination 认定, handling, follow-up). Until then a row shows the
defaults and the grade found in the case's report elements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.db import utcnow
from registers.config import bullying_words
from registers.models import BullyingRecord
from triage import read
from triage.read import RegisterCase

_said = section_text("registers", "bullying")  # words from data/registers/texts.yaml

BULLYING = "bullying"
EDITABLE = (
    "incident_date",
    "grade",
    "bullying_type",
    "investigation",
    "investigated_on",
    "determination",
    "determined_on",
    "handling",
    "follow_up",
    "followed_up_on",
    "note",
)


class RegisterError(ValueError):
    """A register entry that cannot be saved as given (shown on the form)."""


@dataclass
class RegisterRow:
    case_id: int
    case_number: str
    org_id: int
    school: str
    received_at: datetime
    record: BullyingRecord  # unsaved (defaults) until the lead records something


def _is_bullying(labels: list[str] | None) -> bool:
    return BULLYING in (labels or [])


async def register_rows(
    session: AsyncSession,
    org_ids: list[int],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[RegisterRow]:
    """The register's rows for cases of these organisations received in [start, end)."""
    found = await read.register_cases(session, org_ids, start, end)
    # Labels are JSON: filtered here in Python, the same way on SQLite and PostgreSQL.
    cases = [case for case in found if _is_bullying(case.labels)]
    records = await _records(session, [case.id for case in cases])
    return [
        RegisterRow(
            case.id,
            case.number,
            case.org_id,
            case.org.name,
            case.received_at,
            records.get(case.id) or default_record(case),
        )
        for case in cases
    ]


async def row_for(session: AsyncSession, case: RegisterCase) -> RegisterRow:
    """The register row of one case (its organisation is loaded with it)."""
    record = (await _records(session, [case.id])).get(case.id) or default_record(case)
    return RegisterRow(case.id, case.number, case.org_id, case.org.name, case.received_at, record)


async def _records(session: AsyncSession, case_ids: list[int]) -> dict[int, BullyingRecord]:
    if not case_ids:
        return {}
    found = await session.execute(
        select(BullyingRecord).where(BullyingRecord.case_id.in_(case_ids))
    )
    return {record.case_id: record for record in found.scalars()}


def default_record(case: RegisterCase) -> BullyingRecord:
    """A fresh (unsaved) record: the grade from the report elements, nothing decided yet."""
    grades = json.loads(case.elements or "{}").get("grade") or []
    return BullyingRecord(
        case_id=case.id,
        org_id=case.org_id,
        grade=grades[0][:16] if grades else None,
        investigation="received",
        determination="pending",
        handling=[],
    )


@dataclass(frozen=True)
class Entry:
    incident_date: date | None
    grade: str | None
    bullying_type: str | None
    investigation: str
    investigated_on: date | None
    determination: str
    determined_on: date | None
    handling: list[str]
    follow_up: str | None
    followed_up_on: date | None
    note: str | None


def _check(entry: Entry) -> None:
    def allowed(table: str, value: str | None) -> bool:
        return value is None or value in bullying_words(table)

    if not (
        allowed("types", entry.bullying_type)
        and allowed("investigation", entry.investigation)
        and allowed("determination", entry.determination)
        and allowed("follow_up", entry.follow_up)
        and all(allowed("handling", code) for code in entry.handling)
    ):
        raise RegisterError(_said("choose_from_list"))
    if entry.determination != "pending" and entry.investigation != "completed":
        raise RegisterError(_said("determine_after_investigation"))
    if entry.grade is not None and len(entry.grade) > 16:
        raise RegisterError(_said("grade_too_long"))
    if entry.note is not None and len(entry.note) > 1000:
        raise RegisterError(_said("note_too_long"))


async def save(
    session: AsyncSession, case: RegisterCase, staff_id: int, entry: Entry
) -> BullyingRecord:
    """Create or update the case's register row (audited with the names of changed fields)."""
    if not _is_bullying(case.labels):
        raise RegisterError(_said("not_bullying"))
    _check(entry)
    record = (await _records(session, [case.id])).get(case.id)
    if record is None:
        record = default_record(case)
        session.add(record)
    changed = [name for name in EDITABLE if getattr(record, name) != getattr(entry, name)]
    for name in EDITABLE:
        setattr(record, name, getattr(entry, name))
    record.updated_by, record.updated_at = staff_id, utcnow()
    await session.flush()
    await audit.record(
        session, f"staff:{staff_id}", "bullying_register.updated", "case", case.id, fields=changed
    )
    return record

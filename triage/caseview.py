"""What the case page and the auditor's page read: conversation, analysis, timeline."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import AuditEvent
from helpline.datafiles import data_yaml, section_text
from helpline.vocabulary import vocabulary
from triage.models import Case, Message, StaffUser

_said = section_text("triage", "caseview")  # words from data/triage/texts.yaml


def words() -> dict[str, dict[str, str]]:
    """Chinese words for codes (labels, statuses, roles, actions...) from data/triage."""
    return {**data_yaml("triage", "console.yaml"), **vocabulary()}


def parse_case_number(number: str) -> int | None:
    """'2026-000123' (or just '123') -> 123."""
    tail = number.strip().rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) <= 12 else None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    code: str


async def staff_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.role).where(StaffUser.id.in_(ids))
    )
    roles = words()["roles"]
    return {i: _said("staff_name", name=name, role=roles.get(role, role)) for i, name, role in rows}


def is_view(entry: TimelineEntry) -> bool:
    """Whether the entry only records that someone looked (hidden on the case page)."""
    return entry.code in words()["timeline_views"]


async def timeline(session: AsyncSession, case_id: int) -> list[TimelineEntry]:
    """The case's audit events, oldest first, with who did it (names resolved, no details)."""
    events = list(
        (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.object_type == "case", AuditEvent.object_id == str(case_id))
                .order_by(AuditEvent.id)
            )
        ).scalars()
    )
    ids = {int(e.actor.split(":")[1]) for e in events if e.actor.startswith("staff:")}
    names = await staff_names(session, ids)
    actions = words()["actions"]
    return [
        TimelineEntry(e.at, _actor_name(e.actor, names), actions.get(e.action, e.action), e.action)
        for e in events
    ]


def _actor_name(actor: str, names: dict[int, str]) -> str:
    kind, _, ref = actor.partition(":")
    if kind == "staff" and ref.isdigit():
        return names.get(int(ref), actor)
    return {"reporter": _said("reporter"), "system": _said("system")}.get(kind, actor)


@dataclass(frozen=True)
class ShownMessage:
    direction: str
    text: str
    at: datetime
    author: str
    delivered: bool
    rules: list[str]


async def messages(session: AsyncSession, case: Case) -> list[ShownMessage]:
    """Both directions and the private notes, oldest first."""
    rows = list(
        (
            await session.execute(
                select(Message)
                .where(Message.case_id == case.id)
                .order_by(Message.created_at, Message.id)
            )
        ).scalars()
    )
    names = await staff_names(session, {m.author_id for m in rows if m.author_id})
    shown = []
    for m in rows:
        author = names.get(m.author_id, "") if m.author_id else _said("reporter")
        rules = json.loads(m.analysis).get("rules", []) if m.analysis else []
        text = m.text or f"[{m.kind}]"
        shown.append(
            ShownMessage(m.direction, text, m.created_at, author, m.delivered_at is not None, rules)
        )
    return shown


def analysis(case: Case) -> dict[str, Any]:
    """The case's latest analysis: scores (sorted), rules fired, urgency, mandatory."""
    raw: dict[str, Any] = json.loads(case.analysis or "{}")
    scores = sorted(raw.get("scores", {}).items(), key=lambda kv: -kv[1])
    return {
        "labels": raw.get("labels", []),
        "urgency": raw.get("urgency"),
        "scores": [(k, round(v, 3)) for k, v in scores if not k.startswith("urgency:")],
        "rules": raw.get("rules", []),
        "mandatory": raw.get("mandatory_report", False),
        "risk_level": raw.get("risk_level", 0),
    }


async def fingerprint(session: AsyncSession, case: Case, content: bool) -> str:
    """A short hash of what the case page shows: the case's row, and for those who may open
    its content (`content`) its messages (new, delivered, edited) and what happened to it
    (audit events other than views, escalation's included). The page's live script polls it
    and fetches the page again only when it changed. Without content access only the row
    counts: a restricted case's hash does not tell others that its child wrote again."""
    row = [
        case.status,
        case.assignee_id,
        case.first_response_due,
        case.first_response_at,
        case.closed_at,
        case.merged_into_id,
    ]
    if not content:
        return digest(row)
    messages_state = (
        await session.execute(
            select(
                func.count(Message.id),
                func.max(Message.id),
                func.max(Message.delivered_at),
                func.max(Message.edited_at),
            ).where(Message.case_id == case.id)
        )
    ).one()
    last_event = (
        await session.execute(
            select(func.max(AuditEvent.id)).where(
                AuditEvent.object_type == "case",
                AuditEvent.object_id == str(case.id),
                AuditEvent.action.not_in(words()["timeline_views"]),
            )
        )
    ).scalar_one()
    extra = [case.urgency, case.labels, case.mandatory, case.restricted, case.last_activity_at]
    return digest([*row, *extra, list(messages_state), last_event])


def digest(state: list[object]) -> str:
    """The short hash the live pages poll (caseview.fingerprint, queue.fingerprint)."""
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:24]

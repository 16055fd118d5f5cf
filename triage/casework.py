"""Work on one case: notes, replies, relabelling (training feedback), merging, closing."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline import audit
from helpline.datafiles import data_yaml, section_text
from helpline.db import utcnow
from helpline.vocabulary import MESSAGE_CHARS
from nlu.analysis import ELEMENT_KEYS
from triage.fold import fold_analysis, reading, reading_of
from triage.hooks import close_blockers, run_case_closed, run_case_hooks
from triage.models import Case, CaseStatus, LabelFeedback, Message, OrgKind, StaffUser
from triage.outbox import queue_reply
from triage.queue import QueueConflict, start_work

MAX_TEXT = MESSAGE_CHARS
MAX_DISPOSITION = 2000


_said = section_text("triage", "casework")  # its messages, from data/triage/texts.yaml


class CaseworkError(ValueError):
    """A request that cannot be carried out as given; `str(error)` is shown to staff."""


def outcomes() -> dict[str, str]:
    return dict(data_yaml("triage", "outcomes.yaml")["outcomes"])


def _text(text: str, limit: int = MAX_TEXT) -> str:
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise CaseworkError(_said("empty"))
    if len(cleaned) > limit:
        raise CaseworkError(_said("too_long", limit=limit))
    return cleaned


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.id}"


async def add_note(
    session: AsyncSession, staff: StaffUser, case: Case, text: str, take: bool = True
) -> Message:
    """A private note: staff only, never shown to the reporter.

    `take=False` for the hotline operator adding to a call they logged: the note must not
    make the case theirs (a counsellor takes it from the queue).
    """
    body = _text(text)
    if take:
        await start_work(session, staff, case)
    else:
        case.last_activity_at = utcnow()
    note = Message(
        case_id=case.id,
        direction="note",
        channel=case.channel,
        kind="text",
        text=body,
        author_id=staff.id,
        created_at=utcnow(),
    )
    session.add(note)
    await session.flush()
    await audit.record(
        session, _actor(staff), "case.note_added", "case", case.id, message_id=note.id
    )
    return note


async def reply(session: AsyncSession, staff: StaffUser, case: Case, text: str) -> Message:
    """A reply through the reporter's channel (the outbox; shown on the follow-up page)."""
    body = _text(text)
    await start_work(session, staff, case)
    return await queue_reply(session, case, staff.id, body)


def _check_labels(labels: list[str], urgency: str) -> list[str]:
    wanted = [label for label in nlu.LABELS if label in set(labels)]
    if not wanted:
        raise CaseworkError(_said("no_label"))
    if len(wanted) != len(set(labels)):
        raise CaseworkError(_said("label_unknown"))
    if "general" in wanted and len(wanted) > 1:
        raise CaseworkError(_said("general_alone"))
    if urgency not in nlu.URGENCIES:
        raise CaseworkError(_said("urgency_unknown"))
    return wanted


async def relabel(
    session: AsyncSession, staff: StaffUser, case: Case, labels: list[str], urgency: str
) -> LabelFeedback:
    """Correct the case's labels and urgency; kept as training feedback.

    Mandatory and restricted only ever go up here: a relabel never lifts a statutory duty or
    a privacy restriction (no private mediation); going up runs the case_raised hooks so the
    statutory reports open in this same transaction.
    """
    wanted = _check_labels(labels, urgency)
    await start_work(session, staff, case)
    message_ids = (
        await session.execute(
            select(Message.id).where(Message.case_id == case.id, Message.direction == "in")
        )
    ).scalars()
    feedback = LabelFeedback(
        case_id=case.id,
        staff_id=staff.id,
        message_ids=list(message_ids),
        labels=wanted,
        urgency=urgency,
        previous_labels=list(case.labels),
        previous_urgency=case.urgency,
        created_at=utcnow(),
    )
    session.add(feedback)
    analysis = reading(wanted, urgency, "counsellor_relabel")
    raised = await fold_analysis(session, case, analysis, case.last_activity_at, relabel=True)
    await session.flush()
    await audit.record(
        session,
        _actor(staff),
        "case.relabelled",
        "case",
        case.id,
        labels=wanted,
        urgency=urgency,
        previous_labels=feedback.previous_labels,
        previous_urgency=feedback.previous_urgency,
    )
    if raised:
        # The hooks see the case's duty as it now stands (a relabel never lifts it).
        held = replace(analysis, mandatory_report=case.mandatory, restricted=case.restricted)
        await run_case_hooks("case_raised", session, case, held)
    return feedback


def _holder_check(staff: StaffUser, case: Case) -> None:
    from triage.permissions import LEAD_ROLES

    if case.assignee_id not in (None, staff.id) and staff.role not in LEAD_ROLES:
        raise QueueConflict("assigned_to_other")


async def close_case(
    session: AsyncSession, staff: StaffUser, case: Case, outcome: str, disposition: str
) -> list[str]:
    """Close with an outcome and a disposition; returns the close guards' reasons if blocked.

    A blocked mandatory case waits in "awaiting report" until its statutory reports are
    recorded (不得私下调解).
    """
    if outcome not in outcomes():
        raise CaseworkError(_said("no_outcome"))
    text = _text(disposition, MAX_DISPOSITION)
    _holder_check(staff, case)
    if case.status == CaseStatus.closed:
        raise CaseworkError(_said("already_closed"))
    blockers = await close_blockers(session, case)
    if blockers:
        case.status = CaseStatus.awaiting_report
        await audit.record(
            session, _actor(staff), "case.close_blocked", "case", case.id, reasons=len(blockers)
        )
        return blockers
    now = utcnow()
    case.status, case.closed_at = CaseStatus.closed, now
    case.outcome, case.disposition, case.last_activity_at = outcome, text, now
    await audit.record(session, _actor(staff), "case.closed", "case", case.id, outcome=outcome)
    await run_case_closed(session, case, "closed")
    return []


async def merge(session: AsyncSession, staff: StaffUser, target: Case, source: Case) -> None:
    """Fold `source` into `target` (same reporter): messages, labels, urgency, elements.

    Refused while `source` is held open by a close guard: merging must never make a pending
    statutory report disappear.
    """
    if source.id == target.id or source.reporter_id != target.reporter_id:
        raise CaseworkError(_said("merge_same_reporter"))
    if source.status == CaseStatus.closed:
        raise CaseworkError(_said("merge_closed"))
    _holder_check(staff, source)
    if await close_blockers(session, source):
        raise CaseworkError(_said("merge_reports_open"))
    await session.execute(
        update(Message)
        .where(Message.case_id == source.id)
        .values(case_id=target.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(LabelFeedback)
        .where(LabelFeedback.case_id == source.id)
        .values(case_id=target.id)
        .execution_options(synchronize_session=False)
    )
    await fold_analysis(session, target, reading_of(source), None)
    target.received_at = min(target.received_at, source.received_at)
    target.first_response_due = min(target.first_response_due, source.first_response_due)
    now = utcnow()
    source.status, source.closed_at, source.outcome = CaseStatus.closed, now, "merged"
    source.merged_into_id, source.last_activity_at = target.id, now
    await audit.record(
        session, _actor(staff), "case.merged", "case", target.id, merged_case=source.id
    )
    await audit.record(
        session, _actor(staff), "case.merged_into", "case", source.id, target_case=target.id
    )
    await run_case_closed(session, source, "merged")


@dataclass(frozen=True)
class Elements:
    found: dict[str, list[str]]
    missing: list[str]


def known_school(case: Case) -> str | None:
    """The school's name when the case belongs to a school (chosen on the form or routed)."""
    return case.org.name if case.org.kind == OrgKind.school else None


def report_elements(case: Case) -> Elements:
    """The report elements found in the reporter's messages, and those still missing.

    A school the case already belongs to is known: nobody is asked for it again.
    """
    raw: dict[str, Any] = json.loads(case.elements or "{}")
    found = {key: list(raw[key]) for key in ELEMENT_KEYS if raw.get(key)}
    school = known_school(case)
    if school and not found.get("school"):
        found["school"] = [school]
    found = {key: found[key] for key in ELEMENT_KEYS if key in found}
    return Elements(found, [key for key in ELEMENT_KEYS if key not in found])


async def merge_candidates(session: AsyncSession, case: Case) -> list[Case]:
    """The reporter's other open cases (they may be merged into this one)."""
    return list(
        (
            await session.execute(
                select(Case)
                .where(
                    Case.reporter_id == case.reporter_id,
                    Case.id != case.id,
                    Case.status != CaseStatus.closed,
                )
                .order_by(Case.received_at)
            )
        ).scalars()
    )

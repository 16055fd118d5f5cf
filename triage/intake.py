"""Intake: one message from any channel becomes part of a case, in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline import audit
from helpline.crypto import get_keyring, new_receipt_code, receipt_hash
from helpline.db import utcnow
from helpline.vocabulary import MESSAGE_CHARS, urgency_rank
from triage.fold import fold_analysis
from triage.hooks import run_case_hooks
from triage.models import Case, CaseStatus, Message, NluBacklog, Reporter, StaffUser
from triage.orgs import OrgInfo, org_table
from triage.permissions import may_be_assignee
from triage.policy import first_response_due

MAX_TEXT_CHARS = MESSAGE_CHARS  # the vocabulary's limit, by its old name for the channels


class IntakeError(ValueError):
    """The message cannot be accepted as it is (the reporter is told why)."""


@dataclass(frozen=True)
class Intake:
    channel: str
    reporter_ref: str  # the raw channel identity; only its pseudonym is stored
    text: str
    reporter_kind: str = "unknown"
    chat_id: str | None = None
    contact: str | None = None
    org_code: str | None = None
    external_id: str | None = None
    kind: str = "text"
    received_at: datetime | None = None
    new_case: bool = False
    with_receipt: bool = False
    case_id: int | None = None  # follow-up into a known case (receipt code already checked)
    logged_by: int | None = None  # the staff member who logged this phone call
    # The channel made `reporter_ref` up for this message alone (a web form report): no stored
    # reporter can have it, so none is looked up.
    new_reporter: bool = False


@dataclass
class Received:
    case: Case
    message: Message
    analysis: nlu.Analysis
    new_case: bool
    raised: bool
    receipt_code: str | None
    reporter: Reporter | None = None  # held here so the caller reads it without SQL


def clean_text(text: str) -> str:
    """Reject what cannot be a message; strip control characters but keep emoji and newlines."""
    if not isinstance(text, str):
        raise IntakeError("not_text")
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise IntakeError("empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise IntakeError("too_long")
    return cleaned


async def receive(session: AsyncSession, intake: Intake) -> Received:
    """Store the message, open or continue the case, run the escalation hooks; no commit."""
    text = clean_text(intake.text) if intake.kind == "text" else intake.text.strip()
    received_at = intake.received_at or utcnow()
    analysis = nlu.analyze(text)
    reporter = await _reporter(session, intake)
    case = await _target_case(session, reporter, intake, received_at)
    receipt = None
    if case is None:
        case, receipt = await _open_case(session, reporter, intake, analysis, received_at)
        raised = False
    else:
        raised = await fold_analysis(session, case, analysis, received_at)
    if intake.logged_by is not None:
        case.logged_by_id = intake.logged_by
    message = Message(
        case_id=case.id,
        direction="in",
        channel=intake.channel,
        kind=intake.kind,
        text=text or None,
        external_id=intake.external_id,
        analysis=json.dumps(analysis.to_dict(), ensure_ascii=False),
        created_at=received_at,
    )
    session.add(message)
    await session.flush()
    if analysis.rules_only:
        # The model is still training (first start): analysed again once it is loaded.
        session.add(NluBacklog(message_id=message.id, case_id=case.id, queued_at=received_at))
    await audit.record(
        session,
        f"reporter:{reporter.id}",
        "message.received",
        "case",
        case.id,
        message_id=message.id,
        channel=intake.channel,
        labels=analysis.labels,
        urgency=analysis.urgency,
        **({"rules_only": True} if analysis.rules_only else {}),
    )
    if receipt is not None:
        await run_case_hooks("case_opened", session, case, analysis)
    elif raised:
        await run_case_hooks("case_raised", session, case, analysis)
    return Received(
        case, message, analysis, receipt is not None, raised, receipt if receipt else None, reporter
    )


async def _reporter(session: AsyncSession, intake: Intake) -> Reporter:
    if intake.case_id is not None:
        # A follow-up (receipt code already checked): the case names its reporter.
        case = await session.get(Case, intake.case_id)
        if case is None:
            raise IntakeError("unknown_case")
        reporter = await session.get(Reporter, case.reporter_id)
        assert reporter is not None
        return reporter
    pseudonym = get_keyring().pseudonym(intake.channel, intake.reporter_ref)
    reporter = None
    if not intake.new_reporter:
        reporter = (
            await session.execute(
                select(Reporter).where(
                    Reporter.channel == intake.channel, Reporter.pseudonym == pseudonym
                )
            )
        ).scalar_one_or_none()
    if reporter is None:
        reporter = Reporter(channel=intake.channel, pseudonym=pseudonym, kind=intake.reporter_kind)
        session.add(reporter)
    if intake.reporter_kind != "unknown":
        reporter.kind = intake.reporter_kind
    if intake.chat_id is not None:
        reporter.chat_id = intake.chat_id
    if intake.contact:
        reporter.contact = intake.contact
    await session.flush()
    return reporter


async def _target_case(
    session: AsyncSession, reporter: Reporter, intake: Intake, at: datetime
) -> Case | None:
    """The case this message belongs to: the named one, else the reporter's latest (reopened)."""
    if intake.case_id is not None:
        case = await session.get(Case, intake.case_id)
        assert case is not None and case.reporter_id == reporter.id
    elif intake.new_case:
        return None
    else:
        case = (
            await session.execute(
                select(Case)
                .where(Case.reporter_id == reporter.id)
                .order_by(Case.received_at.desc(), Case.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if case is None:
            return None
    if case.status == CaseStatus.closed:
        await _reopen(session, case, reporter, at)
    return case


async def _reopen(session: AsyncSession, case: Case, reporter: Reporter, at: datetime) -> None:
    """The reporter wrote again after closing: back to the counsellor who knows the child if
    they still may take it, else to the queue; either way with a new first-response time."""
    assignee = await session.get(StaffUser, case.assignee_id) if case.assignee_id else None
    keep = assignee is not None and may_be_assignee(assignee, case)
    case.status = CaseStatus.claimed if keep else CaseStatus.new
    case.assignee_id = case.assignee_id if keep else None
    case.closed_at = case.first_response_at = None
    case.first_response_due = await first_response_due(session, case.urgency, at)
    await audit.record(
        session, f"reporter:{reporter.id}", "case.reopened", "case", case.id, kept_assignee=keep
    )


async def _open_case(
    session: AsyncSession,
    reporter: Reporter,
    intake: Intake,
    analysis: nlu.Analysis,
    received_at: datetime,
) -> tuple[Case, str]:
    org = await _org_for(session, intake.org_code)
    receipt = new_receipt_code()
    case = Case(
        org_id=org.id,
        reporter_id=reporter.id,
        channel=intake.channel,
        status=CaseStatus.new,
        labels=list(analysis.labels),
        urgency=analysis.urgency,
        urgency_rank=urgency_rank(analysis.urgency),
        risk_level=analysis.risk_level,
        mandatory=analysis.mandatory_report,
        restricted=analysis.restricted,
        receipt_hash=receipt_hash(receipt),
        received_at=received_at,
        first_response_due=await first_response_due(session, analysis.urgency, received_at),
        last_activity_at=received_at,
        elements=json.dumps(analysis.elements, ensure_ascii=False),
        analysis=json.dumps(analysis.to_dict(), ensure_ascii=False),
    )
    session.add(case)
    await session.flush()
    await audit.record(
        session,
        f"reporter:{reporter.id}",
        "case.opened",
        "case",
        case.id,
        labels=case.labels,
        urgency=case.urgency,
        mandatory=case.mandatory,
    )
    return case, receipt


async def revealed_at(session: AsyncSession, case: Case) -> datetime:
    """When the help line learned what the case now says: the receipt of its latest message.

    The one rule for statutory deadlines (docs/escalation.md): a label found later runs from
    the message that revealed it. For a later message that is that message; for a
    counsellor's relabel it is the latest message the reporter had sent at relabel time (the
    counsellor read the label out of the messages received so far, not out of the clock).
    """
    latest = (
        await session.execute(
            select(Message.created_at)
            .where(Message.case_id == case.id, Message.direction == "in")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return latest or case.received_at


async def _org_for(session: AsyncSession, code: str | None) -> OrgInfo:
    """The named organisation, else the first district (from the per-process table)."""
    table = await org_table(session)
    org = table.by_code.get(code) if code else None
    org = org or table.first_district
    if org is None:
        raise IntakeError("no_organisation")
    return org

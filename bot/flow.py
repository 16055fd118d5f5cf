"""The conversation, whatever the channel: take a message in, say the right thing back.

Every channel (Telegram, the web form, the hotline call log) calls `take`, inside its own
transaction: the message goes through `triage.intake.receive` (understanding, case, priority,
escalation hooks), and the answer is built from the analysis of THIS message: emergency numbers
first, then crisis lines, fraud steps, the honest word about mandatory reports, and at most one
gentle question about a missing report element.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import screening, texts
from bot.models import ScreeningState
from helpline.db import get_engine
from helpline.vocabulary import CHILD_HARM
from nlu.normalize import normalize
from triage import followup
from triage.intake import MAX_TEXT_CHARS, Intake, IntakeError, Received, receive
from triage.models import Case, Reporter
from triage.orgs import org_info

# Channels where the reporter answers by writing back (the call-back offer is a sentence).
CHAT_CHANNELS = frozenset({"telegram", "wechat", "wecom"})

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def intake_slot() -> asyncio.Semaphore:
    """Hold one of a few slots around an intake transaction.

    Every intake transaction takes the audit chain's head lock; with hundreds of tasks in one
    event loop, the holder would wait behind all of them at each await (a convoy). A few
    transactions at a time, the rest queued, is far faster on PostgreSQL and SQLite alike; on
    SQLite (one writer) only one, so that writers queue fairly here, not in its busy loop.
    """
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(_concurrent_intakes())
    return slot


def single_writer_slot() -> AbstractAsyncContextManager[object]:
    """The intake slot where the database has a single writer (SQLite), else nothing: other
    short writes (rate-limit counts) then queue here instead of in SQLite's busy loop, while
    PostgreSQL's row locks need no queue."""
    if get_engine().dialect.name == "sqlite":
        return intake_slot()
    return nullcontext()


def _concurrent_intakes() -> int:
    per_backend = texts.limits()["concurrent_intakes"]
    backend = get_engine().dialect.name
    return int(per_backend.get(backend, per_backend["postgresql"]))


@dataclass
class Answer:
    received: Received
    acknowledgement: str
    blocks: list[texts.SafetyBlock]
    question: str | None
    screening: bool = False  # the question is one of the crisis screening's

    @property
    def case(self) -> Case:
        return self.received.case

    @property
    def emergency(self) -> bool:
        return self.received.analysis.urgency == "emergency"

    def chat_text(self) -> str:
        """The whole answer as one chat message: safety first when it is an emergency."""
        parts = [block.render() for block in self.blocks]
        if self.emergency:
            parts.append(self.acknowledgement)
        else:
            parts.insert(0, self.acknowledgement)
        if self.question:
            parts.append(self.question)
        return "\n\n".join(parts)


async def status_text(session: AsyncSession, case: Case) -> str:
    """The case number, its status and the counsellor's latest reply (a chat's "status")."""
    words = texts.mapping("status_words")
    lines = [texts.text("status_case", number=case.number, status=words.get(case.status, ""))]
    replies = [m for m in await followup.conversation(session, case) if m.direction == "out"]
    if replies:
        lines.append(texts.text("status_reply", reply=replies[-1].text or ""))
    else:
        lines.append(texts.text("status_no_reply"))
    return "\n\n".join(lines)


def refusal(exc: IntakeError) -> str:
    """Why a chat message was not taken, in the reporter's words (too long, or nothing
    readable); nothing of it was written (triage.intake.clean_text)."""
    if str(exc) == "too_long":
        return texts.text("too_long", limit=MAX_TEXT_CHARS)
    return texts.text("empty")


async def region_of(session: AsyncSession, case: Case) -> str:
    org = await org_info(session, case.org_id)
    return org.region if org is not None else "default"


async def take(
    session: AsyncSession, intake: Intake, ask: bool = True, screen: bool = False
) -> Answer:
    """Receive one message and build the answer; the caller commits, then sends it.

    `screen` (the chat channels): a crisis message starts the crisis screening, whose first
    question follows the safety words; the alert was already set off inside `receive`.
    """
    received = await receive(session, intake)
    analysis, case = received.analysis, received.case
    follow_up = not received.new_case
    region = await region_of(session, case)
    reporter = received.reporter or await session.get(Reporter, case.reporter_id)
    audience = texts.audience_of(reporter.kind if reporter is not None else None)
    # The word on mandatory reports is said once: when the case first becomes one.
    newly_mandatory = analysis.mandatory_report and (received.new_case or received.raised)
    blocks = texts.safety_blocks(
        analysis.labels, analysis.urgency, newly_mandatory, region, audience=audience
    )
    acknowledgement = texts.acknowledgement(analysis.labels, follow_up and not blocks, audience)
    if intake.contact:
        acknowledgement += "\n" + texts.text(f"contact_noted.{audience}")
    advice = texts.everyday_advice(normalize(intake.text), analysis.labels, region)
    if advice is not None and not follow_up:
        blocks.append(advice)
    question = await _screening_question(session, case, analysis) if screen else None
    if question is not None:
        return Answer(received, acknowledgement, blocks, question, screening=True)
    if analysis.urgency == "emergency" and intake.channel in CHAT_CHANNELS:
        # On the web form the receipt page offers a field for it instead; during a crisis
        # screening the question comes first (its answers are yes or no).
        blocks.append(texts.SafetyBlock("note", texts.text("emergency_callback", audience)))
    if analysis.junk and not blocks:
        # Nothing said yet (nlu/junk.py): ask what happened instead of thanking for it.
        acknowledgement = texts.text("unclear_message")
    elif ask and analysis.urgency != "emergency":
        question = _next_question(case, audience)
    return Answer(received, acknowledgement, blocks, question)


async def _screening_question(session: AsyncSession, case: Case, analysis: object) -> str | None:
    found = await screening.find(session, case.id)
    if found is not None:
        return await screening.not_an_answer(session, found)
    if screening.suggests_crisis(analysis):  # type: ignore[arg-type]
        return await screening.begin(session, case)
    return None


async def screening_answer(
    session: AsyncSession, case_id: int | None, text: str
) -> screening.Turn | None:
    """The message answers the open screening question: recorded (not taken as a message)."""
    kind = screening.parse(text)
    if kind is None:
        return None
    found = await screening.find(session, case_id)
    if found is None or found.state != ScreeningState.active or found.current is None:
        return None
    case = await session.get(Case, found.case_id)
    assert case is not None
    return await screening.answer(session, found, case, kind)


def _next_question(case: Case, audience: str = "child") -> str | None:
    """One missing element (when, where, who) for a harm case, each asked at most once."""
    if not CHILD_HARM & set(case.labels):
        return None
    state = dict(case.conversation_state or {})
    asked = list(state.get("asked", []))
    elements = json.loads(case.elements or "{}")
    key = texts.missing_element(elements, asked)
    if key is None:
        return None
    # A new dict, so that SQLAlchemy sees the JSON column change.
    case.conversation_state = {**state, "asked": [*asked, key]}
    return texts.text(f"questions.{key}", audience)

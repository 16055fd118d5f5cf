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

from bot import texts
from helpline.db import get_engine
from triage.intake import Intake, Received, receive
from triage.models import Case, Organisation

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


async def region_of(session: AsyncSession, case: Case) -> str:
    org = await session.get(Organisation, case.org_id)
    return org.region if org is not None else "default"


async def take(session: AsyncSession, intake: Intake, ask: bool = True) -> Answer:
    """Receive one message and build the answer; the caller commits, then sends it."""
    received = await receive(session, intake)
    analysis, case = received.analysis, received.case
    follow_up = not received.new_case
    region = await region_of(session, case)
    # The word on mandatory reports is said once: when the case first becomes one.
    newly_mandatory = analysis.mandatory_report and (received.new_case or received.raised)
    blocks = texts.safety_blocks(analysis.labels, analysis.urgency, newly_mandatory, region)
    acknowledgement = texts.acknowledgement(analysis.labels, follow_up and not blocks)
    question = None
    if ask and analysis.urgency != "emergency":
        question = _next_question(case)
    return Answer(received, acknowledgement, blocks, question)


def _next_question(case: Case) -> str | None:
    """One missing element (when, where, who) for a harm case, each asked at most once."""
    if not texts.HARM_LABELS & set(case.labels):
        return None
    state = dict(case.conversation_state or {})
    asked = list(state.get("asked", []))
    elements = json.loads(case.elements or "{}")
    key = texts.missing_element(elements, asked)
    if key is None:
        return None
    # A new dict, so that SQLAlchemy sees the JSON column change.
    case.conversation_state = {**state, "asked": [*asked, key]}
    return texts.text(f"questions.{key}")

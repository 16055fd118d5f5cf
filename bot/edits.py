"""An edited Telegram message updates the stored message (and the case if it got worse)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline import audit
from helpline.db import utcnow
from helpline.vocabulary import urgency_rank
from triage.fold import fold_analysis
from triage.hooks import run_case_hooks
from triage.intake import clean_text
from triage.models import Case, Message


@dataclass
class Edited:
    case: Case
    analysis: nlu.Analysis
    raised: bool  # the case's urgency or labels went up
    worse: bool  # the edited text reads more dangerous than what was first sent


async def apply_edit(session: AsyncSession, external_id: str, new_text: str) -> Edited | None:
    """Replace the text of the message sent as `external_id`; None when it is not on record."""
    text = clean_text(new_text)
    message = (
        await session.execute(
            select(Message).where(Message.external_id == external_id, Message.direction == "in")
        )
    ).scalar_one_or_none()
    if message is None:
        return None
    case = await session.get(Case, message.case_id)
    assert case is not None
    analysis = nlu.analyze(text)
    worse = _worse(json.loads(message.analysis or "{}"), analysis)
    now = utcnow()
    message.text = text
    message.edited_at = now
    message.analysis = json.dumps(analysis.to_dict(), ensure_ascii=False)
    # The edit may reveal more danger than the original: fold it into the case like a message.
    raised = await fold_analysis(session, case, analysis, now)
    await audit.record(
        session,
        f"reporter:{case.reporter_id}",
        "message.edited",
        "case",
        case.id,
        message_id=message.id,
        labels=analysis.labels,
        urgency=analysis.urgency,
    )
    if raised:
        await run_case_hooks("case_raised", session, case, analysis)
    return Edited(case, analysis, raised, worse)


def _worse(before: dict[str, object], after: nlu.Analysis) -> bool:
    old_urgency = str(before.get("urgency", "low"))
    old_labels = set(before.get("labels", []) or [])  # type: ignore[call-overload]
    if urgency_rank(after.urgency) < urgency_rank(old_urgency):
        return True
    return bool(set(after.labels) - old_labels - {"general"})

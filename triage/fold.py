"""What the help line learns about a case is folded in here, and only here.

A message's analysis (intake), an edited message, a screener's answer and a re-analysis
merge into the case; a counsellor's relabel replaces its labels and urgency; a merged case
is folded in as the reading it carries. Mandatory and restricted only ever go up.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline.vocabulary import most_urgent, urgency_rank
from nlu import statutory
from triage.models import Case
from triage.policy import first_response_due


def reading(labels: list[str], urgency: str, rule: str) -> nlu.Analysis:
    """A reading made by a person or a screener, not the model: its statutory duty and
    privacy restriction follow from its labels and urgency as for a message."""
    return nlu.Analysis(
        labels=labels,
        urgency=urgency,
        scores={},
        mandatory_report=statutory.mandatory_report(labels, urgency),
        rules=[rule],
        restricted=statutory.is_restricted(labels),
    )


def reading_of(case: Case) -> nlu.Analysis:
    """What a case says, as an analysis (a merged case is folded in through it)."""
    return nlu.Analysis(
        labels=list(case.labels),
        urgency=case.urgency,
        scores={},
        mandatory_report=case.mandatory,
        rules=["merged_case"],
        elements=json.loads(case.elements or "{}"),
        risk_level=case.risk_level,
        restricted=case.restricted,
    )


async def fold_analysis(
    session: AsyncSession,
    case: Case,
    analysis: nlu.Analysis,
    at: datetime | None,
    *,
    relabel: bool = False,
) -> bool:
    """Fold `analysis` into `case`; True when urgency or labels or the statutory duty went up.

    `at` is when the case learned it (the message's receipt, the relabel): it is the case's
    latest activity and a higher urgency's first-response deadline runs from it. `at=None`
    (a merge) touches neither: the merge keeps the earlier of the two cases' deadlines.
    `relabel`: the counsellor's labels and urgency replace the case's (they may go down).
    """
    before = (case.urgency, set(case.labels), case.mandatory)
    if relabel:
        case.labels, case.urgency = list(analysis.labels), analysis.urgency
    else:
        case.labels = _merged_labels(case.labels, analysis.labels)
        case.urgency = most_urgent(case.urgency, analysis.urgency)
    case.urgency_rank = urgency_rank(case.urgency)
    case.risk_level = max(case.risk_level, analysis.risk_level)
    case.mandatory = case.mandatory or analysis.mandatory_report
    case.restricted = case.restricted or analysis.restricted
    elements = json.loads(case.elements or "{}")
    for key, values in analysis.elements.items():
        elements[key] = list(dict.fromkeys([*elements.get(key, []), *values]))
    case.elements = json.dumps(elements, ensure_ascii=False)
    if at is not None:
        case.last_activity_at = at
        if case.urgency != before[0] and case.first_response_at is None:
            due = await first_response_due(session, case.urgency, at)
            case.first_response_due = min(case.first_response_due, due)
    return (
        urgency_rank(case.urgency) < urgency_rank(before[0])
        or not set(case.labels) <= before[1]
        or case.mandatory != before[2]
    )


def _merged_labels(held: list[str], found: list[str]) -> list[str]:
    """Harm labels add up; "general" stands only while nothing else is known."""
    harm = [label for label in found if label != "general"]
    labels = [label for label in held if label != "general"] if harm else list(held)
    return labels + [label for label in harm if label not in labels] or ["general"]

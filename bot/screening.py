"""The crisis screening conversation of the chat channels (Telegram and WeChat).

When a message suggests a crisis, the safety words go out first and the case (with its alert)
is already committed; then the bot asks the C-SSRS screener's questions (data/bot/
screening.yaml), one at a time, each skippable. Answers raise the case's urgency by the
screener's own triage (never lower it), are stored encrypted, and are summarised on the case
page. A child who stops answering loses nothing: the alert and the queue never wait for this.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from bot import texts
from bot.models import Screening, ScreeningState
from helpline import audit
from helpline.db import utcnow
from triage.fold import fold_analysis, reading
from triage.hooks import run_case_hooks
from triage.models import Case

ANSWER_KINDS = ("yes", "no", "skipped")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def scale() -> dict[str, Any]:
    """The questions, order, triage rules and answer words (cached with the other texts)."""
    return texts.load("screening.yaml")


def parse(text: str) -> str | None:
    """yes / no / skipped / stop when the whole message is such an answer, else None."""
    word = _NOISE.sub("", text or "").lower()
    if not word:
        return None
    for kind, words in scale()["answers"].items():
        if word in {_NOISE.sub("", str(w)).lower() for w in words}:
            return str(kind)
    return None


def next_question(current: str, answer: str) -> str | None:
    """The screener's next question after `answer` to `current` (skipped follows "no")."""
    branch = scale()["flow"][current]
    return branch.get("yes" if answer == "yes" else "no")


def risk_of(answers: dict[str, str]) -> str:
    """The screener's triage of the answers so far: high, moderate, low or none."""
    for rule in scale()["risk_rules"]:
        if any(answers.get(q) == "yes" for q in rule.get("any_yes", [])):
            return str(rule["risk"])
        wanted = rule.get("all")
        if wanted and all(answers.get(q) == a for q, a in wanted.items()):
            return str(rule["risk"])
    return "none"


def question(qid: str) -> str:
    return str(scale()["questions"][qid]["text"])


def _ask(qid: str) -> str:
    return f"{question(qid)}\n{texts.text('screening.hint')}"


def suggests_crisis(analysis: nlu.Analysis) -> bool:
    return "crisis" in analysis.labels


async def find(session: AsyncSession, case_id: int | None) -> Screening | None:
    if case_id is None:
        return None
    return (
        await session.execute(select(Screening).where(Screening.case_id == case_id))
    ).scalar_one_or_none()


def answers_of(screening: Screening) -> dict[str, str]:
    return dict(json.loads(screening.answers or "{}"))


async def begin(session: AsyncSession, case: Case) -> str | None:
    """Start the screening of a case once; returns the intro and first question, or None."""
    if await find(session, case.id) is not None:
        return None
    first = str(scale()["flow"]["start"])
    session.add(
        Screening(case_id=case.id, state=ScreeningState.active, current=first, answers="{}")
    )
    await session.flush()
    await audit.record(session, "system", "screening.started", "case", case.id)
    return f"{texts.text('screening.intro')}\n\n{_ask(first)}"


@dataclass
class Turn:
    reply: str
    raised: bool  # the case's urgency went up on this answer
    urgency: str
    open: bool = False  # another question follows


async def answer(session: AsyncSession, screening: Screening, case: Case, kind: str) -> Turn:
    """Record one answer (yes / no / skipped / stop) and say what comes next."""
    now = utcnow()
    screening.updated_at, screening.reasked = now, False
    if kind == "stop":
        screening.state, screening.current = ScreeningState.stopped, None
        await audit.record(session, "system", "screening.stopped", "case", case.id)
        return Turn(texts.text("screening.stopped"), False, case.urgency)
    assert kind in ANSWER_KINDS and screening.current is not None
    answers = {**answers_of(screening), screening.current: kind}
    screening.answers = json.dumps(answers, ensure_ascii=False)
    await audit.record(
        session, "system", "screening.answered", "case", case.id, question=screening.current
    )
    before = screening.risk
    screening.risk = risk_of(answers)
    raised = await _raise(session, case, screening.risk) if screening.risk != before else False
    following = next_question(screening.current, kind)
    screening.current = following
    if following is None:
        screening.state = ScreeningState.done
        reply = texts.text("screening.done")
    else:
        reply = f"{texts.text('screening.thanks')}\n\n{_ask(following)}"
    if raised and case.urgency == "emergency":
        region = await _region(session, case)
        blocks = texts.safety_blocks(case.labels, "emergency", False, region)
        reply = "\n\n".join([*(b.render() for b in blocks[:2]), reply])
    return Turn(reply, raised, case.urgency, open=following is not None)


async def not_an_answer(session: AsyncSession, screening: Screening) -> str | None:
    """The child wrote something else: ask the open question again once, then stop asking."""
    if screening.state != ScreeningState.active or screening.current is None:
        return None
    screening.updated_at = utcnow()
    if screening.reasked:
        screening.state = ScreeningState.paused
        return None
    screening.reasked = True
    return _ask(screening.current)


async def _region(session: AsyncSession, case: Case) -> str:
    from bot.flow import region_of

    return await region_of(session, case)


async def _raise(session: AsyncSession, case: Case, risk: str) -> bool:
    """Raise the case to the urgency the screener's triage asks for, with its hooks."""
    urgency = scale()["urgency"].get(risk)
    if urgency is None:
        return False
    analysis = reading(["crisis"], urgency, "cssrs_screen")
    raised = await fold_analysis(session, case, analysis, utcnow())
    await audit.record(session, "system", "screening.risk", "case", case.id, risk=risk)
    if raised:
        await run_case_hooks("case_raised", session, case, analysis)
    return raised


def summary(screening: Screening) -> list[tuple[str, str]]:
    """(question, answer word) for every question of the screener, in its order."""
    words, answers = scale()["words"], answers_of(screening)
    return [
        (str(q["summary"]), str(words[answers.get(qid, "unasked")]))
        for qid, q in scale()["questions"].items()
    ]

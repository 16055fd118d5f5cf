"""The crisis screening (C-SSRS screener): its order, each of its triage rules, and that a
child who stops answering still has their alert and their counsellor."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import flow, screening, texts
from bot.models import Screening
from escalation.models import Escalation
from helpline.db import session_scope
from helpline.vocabulary import urgency_rank
from tests.bot.conftest import RunningBot
from triage.intake import Intake
from triage.models import Case
from triage.outbox import pending, queue_reply

CRISIS = "我最近总是很难过，觉得活着没意思，每天都想哭"
QUESTIONS = ("q1", "q2", "q3", "q4", "q5", "q6", "q6_recent")


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("是", "yes"),
        ("是的。", "yes"),
        (" 有 ", "yes"),
        ("嗯嗯", "yes"),
        ("没有", "no"),
        ("不是！", "no"),
        ("跳过", "skipped"),
        ("不想说", "skipped"),
        ("不知道", "skipped"),
        ("别问了", "stop"),
        ("我没有想死，但是每天都很累", None),
        ("", None),
    ],
)
def test_answers_are_whole_short_replies(words: str, kind: str | None) -> None:
    assert screening.parse(words) == kind


def test_the_screeners_order() -> None:
    nxt = screening.next_question
    assert screening.scale()["flow"]["start"] == "q1"
    assert nxt("q1", "no") == "q2" and nxt("q1", "yes") == "q2"
    # Yes to 2: questions 3, 4, 5, then 6. No (or skipped) to 2: straight to 6.
    assert nxt("q2", "yes") == "q3" and nxt("q3", "no") == "q4" and nxt("q4", "no") == "q5"
    assert nxt("q5", "no") == "q6"
    assert nxt("q2", "no") == "q6" and nxt("q2", "skipped") == "q6"
    # Behaviour: "within the past 3 months?" only after a yes.
    assert nxt("q6", "yes") == "q6_recent" and nxt("q6", "no") is None
    assert nxt("q6_recent", "yes") is None and nxt("q6_recent", "no") is None


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        ({}, "none"),
        ({"q1": "no", "q2": "no", "q6": "no"}, "none"),
        ({"q1": "skipped", "q2": "skipped", "q6": "skipped"}, "none"),
        ({"q1": "yes"}, "low"),  # wish to be dead
        ({"q1": "no", "q2": "yes", "q3": "no", "q4": "no", "q5": "no", "q6": "no"}, "low"),
        ({"q2": "yes", "q3": "yes", "q4": "no", "q5": "no"}, "moderate"),  # method
        ({"q6": "yes", "q6_recent": "no"}, "moderate"),  # behaviour, over 3 months ago
        ({"q2": "yes", "q3": "no", "q4": "yes"}, "high"),  # intent
        ({"q2": "yes", "q5": "yes"}, "high"),  # plan with intent
        ({"q6": "yes", "q6_recent": "yes"}, "high"),  # behaviour within 3 months
        ({"q6": "yes", "q6_recent": "skipped"}, "high"),  # when unknown: the graver reading
        ({"q1": "yes", "q3": "yes", "q4": "yes"}, "high"),  # gravest rule wins
    ],
)
def test_each_triage_rule(answers: dict[str, str], risk: str) -> None:
    assert screening.risk_of(answers) == risk


RANK = {"none": 0, "low": 1, "moderate": 2, "high": 3}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(st.sampled_from(QUESTIONS), st.sampled_from(["yes", "no", "skipped"])),
    st.sampled_from(QUESTIONS),
)
def test_a_further_yes_never_lowers_the_risk(answers: dict[str, str], question: str) -> None:
    more = {**answers, question: "yes"}
    assert RANK[screening.risk_of(more)] >= RANK[screening.risk_of(answers)]


def test_risk_to_urgency_is_the_screeners_triage() -> None:
    assert screening.scale()["urgency"] == {
        "high": "emergency",
        "moderate": "high",
        "low": "medium",
    }
    assert "Columbia" in screening.scale()["source"]


async def _crisis(chat: str) -> flow.Answer:
    async with flow.intake_slot(), session_scope() as s:
        intake = Intake(channel="telegram", reporter_ref=chat, chat_id=chat, text=CRISIS)
        return await flow.take(s, intake, screen=True)


async def test_a_child_who_stops_answering_keeps_alert_and_counsellor(db_url: str) -> None:
    from assembly import wiring

    wiring.wire_hooks()
    answer = await _crisis("9001")
    assert answer.screening and screening.question("q1") in answer.chat_text()
    # The safety words come first, the question last.
    text = answer.chat_text()
    assert text.index(texts.text("crisis")) < text.index(texts.text("screening.intro"))
    case_id = answer.case.id
    async with session_scope() as s:
        # The alert was set off in the intake transaction, before any screening answer.
        chains = (await s.execute(select(Escalation).where(Escalation.case_id == case_id))).all()
        assert chains
        case = await s.get(Case, case_id)
        assert case is not None and case.status == "new"
        await queue_reply(s, case, None, "老师在，愿意聊聊吗？")
    async with session_scope() as s:
        waiting = await pending(s, "telegram")
        assert [r.case_id for r in waiting] == [case_id]
        found = (
            await s.execute(select(Screening).where(Screening.case_id == case_id))
        ).scalar_one()
        assert found.state == "active" and found.current == "q1" and found.risk == "none"


async def test_answers_raise_never_lower_and_stop(db_url: str) -> None:
    from assembly import wiring

    wiring.wire_hooks()
    answer = await _crisis("9002")
    case_id, before = answer.case.id, answer.case.urgency
    async with session_scope() as s:
        turn = await flow.screening_answer(s, case_id, "是")  # wish to be dead: low
        assert turn is not None and turn.open and not turn.raised
    async with session_scope() as s:
        case = await s.get(Case, case_id)
        assert case is not None  # low risk (medium) never lowers the crisis message's urgency
        assert urgency_rank(case.urgency) <= urgency_rank(before)
        turn = await flow.screening_answer(s, case_id, "不是")  # no thoughts: to question 6
        assert turn is not None and screening.question("q6") in turn.reply
        turn = await flow.screening_answer(s, case_id, "有")  # behaviour
        assert turn is not None and screening.question("q6_recent") in turn.reply
        assert case.urgency in ("high", "emergency")  # moderate risk at least: high
        turn = await flow.screening_answer(s, case_id, "别问了")
        assert turn is not None and turn.reply == texts.text("screening.stopped")
    async with session_scope() as s:
        found = (
            await s.execute(select(Screening).where(Screening.case_id == case_id))
        ).scalar_one()
        assert found.state == "stopped" and found.risk == "moderate"  # behaviour, when unsaid
        assert json.loads(found.answers) == {"q1": "yes", "q2": "no", "q6": "yes"}
        # Once stopped, "是" is an ordinary message again.
        assert await flow.screening_answer(s, case_id, "是") is None


async def test_other_words_reask_once_then_stop_asking(db_url: str) -> None:
    from assembly import wiring

    wiring.wire_hooks()
    answer = await _crisis("9003")
    first = await _crisis("9003")  # another message: not an answer, the question again
    assert first.case.id == answer.case.id and first.screening
    assert screening.question("q1") in first.chat_text()
    second = await _crisis("9003")
    assert not second.screening and screening.question("q1") not in second.chat_text()
    async with session_scope() as s:
        found = (
            await s.execute(select(Screening).where(Screening.case_id == answer.case.id))
        ).scalar_one()
        assert found.state == "paused"


async def test_telegram_buttons_answer_the_screening(polling_bot: RunningBot) -> None:
    api, chat = polling_bot.api, 4401
    await polling_bot.say(chat, CRISIS)
    (message,) = api.calls("sendMessage", chat)
    assert [b["callback_data"] for b in message.buttons()] == ["scr:yes", "scr:no", "scr:skipped"]
    api.push_update(api.callback_update(chat, "scr:yes"))
    calls = await polling_bot.wait_for("sendMessage", chat, count=2)
    assert screening.question("q2") in calls[1].text
    assert texts.text("screening.thanks") in calls[1].text

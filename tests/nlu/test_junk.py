"""Junk is not an emergency (issue 13): a message that is mostly one repeated character or has
no content word gets general/low, never a mandatory report; real short crisis messages are
never junk (nlu/junk.py, thresholds in data/nlu/junk/junk.yaml)."""

from __future__ import annotations

import pytest

from nlu.junk import junk_reason, load_junk_rules
from nlu.paths import default_paths

RULES = load_junk_rules(default_paths().data_dir)

JUNK = {
    "我" * 5000: "repeated",
    "我" * 8: "repeated",
    "1" * 20: "repeated",
    "哈" * 300: "repeated",
    "啊啊啊啊啊啊啊啊啊啊啊啊？？": "repeated",
    "asdfghjkl": "no_content",
    "qwerqwer asdf": "no_content",
    "sdfsdfsdf": "no_content",
    "hhhhhh": "no_content",
    "zxcvbnm,./": "no_content",
    "。。。。！！！？？？": "no_content",
    "……": "no_content",
    "😭😭😭😭": "no_content",
    "🙂": "no_content",
    "   \n  ": "no_content",
    "嗯嗯": "no_content",
    "啊啊啊": "no_content",
    "我我我": "no_content",
    "哈哈哈～": "no_content",
}

# Short real crisis and harm messages: each carries a content word, so none is ever junk.
NOT_JUNK = [
    "他在打我",
    "已经在割了",
    "救命",
    "救命！！！！！！！！！",
    "救命救命救命救命救命救命",
    "疼",
    "我想死",
    "我不想活了",
    "在吗",
    "110",
    "帮帮我",
    "他摸我",
    "被骗了",
    "help",
    "wo bei da le",
    "jiuming",
    "我被打了" + "哈" * 4000,
    "我" * 40 + "好害怕",
    "😭😭😭他们又打我了😭😭😭",
    "？？？为什么他们都欺负我",
]


@pytest.mark.parametrize(("text", "reason"), JUNK.items(), ids=range(len(JUNK)))
def test_junk_examples(text: str, reason: str) -> None:
    assert junk_reason(text, RULES) == reason


@pytest.mark.parametrize("text", NOT_JUNK)
def test_real_messages_are_not_junk(text: str) -> None:
    assert junk_reason(text, RULES) is None


@pytest.mark.parametrize("crisis", ["他在打我", "已经在割了", "救命", "我想死"])
@pytest.mark.parametrize("filler", ["我", "哈", "。", "😭", "asdf", "1"])
def test_a_crisis_inside_junk_is_never_junk(crisis: str, filler: str) -> None:
    for before, after in ((200, 0), (0, 200), (100, 100)):
        assert junk_reason(filler * before + crisis + filler * after, RULES) is None


@pytest.mark.parametrize("text", ["我" * 5000, "asdfghjkl", "！！！？？？", "😭😭😭"])
def test_pipeline_queues_junk_at_low_urgency(pipeline, text: str) -> None:  # noqa: ANN001
    analysis = pipeline.analyze(text)
    assert analysis.junk
    assert analysis.labels == ["general"] and analysis.urgency == "low"
    assert not analysis.mandatory_report and not analysis.restricted
    assert any(rule.startswith("junk:") for rule in analysis.rules)
    assert analysis.to_dict()["junk"] is True


@pytest.mark.parametrize("text", [*NOT_JUNK, "我不想活了，今晚就吃安眠药"])
def test_junk_check_leaves_real_messages_as_they_were(
    pipeline,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
    text: str,
) -> None:
    """Whatever the classifier and rules make of a real message (that is NLU's work, issue
    15), the junk check changes nothing of it."""
    import nlu.pipeline

    analysis = pipeline.analyze(text)
    assert not analysis.junk and not any(r.startswith("junk:") for r in analysis.rules)
    monkeypatch.setattr(nlu.pipeline, "junk_reason", lambda text, rules: None)
    assert pipeline.analyze(text) == analysis


@pytest.mark.parametrize("text", ["已经在割了", "我不想活了，今晚就吃安眠药"])
def test_short_crisis_messages_stay_urgent(pipeline, text: str) -> None:  # noqa: ANN001
    analysis = pipeline.analyze(text)
    assert analysis.urgency in ("high", "emergency") and analysis.labels != ["general"]


def test_a_crisis_rule_wins_over_the_junk_verdict(
    pipeline,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the detector says, a message on which a crisis rule fires is never junk."""
    import nlu.pipeline

    text = "我想自杀"
    plain = pipeline.analyze(text)
    assert plain.rules and plain.labels != ["general"]
    monkeypatch.setattr(nlu.pipeline, "junk_reason", lambda text, rules: "repeated")
    assert pipeline.analyze(text) == plain
    # ... while the same verdict on a message without rule evidence makes it junk.
    assert pipeline.analyze("好的").junk

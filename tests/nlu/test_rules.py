"""Every rule family of the safety net: crisis concepts and risk levels, negation,
hyperbole, impersonal context, the harm phrase rules."""

import pytest

from nlu.normalize import normalize
from nlu.rules import apply_rules, load_rulebook


@pytest.fixture(scope="module")
def book(nlu_paths):
    return load_rulebook(nlu_paths.lexicon_dir)


def run(book, text):
    return apply_rules(book, normalize(text))


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("我真的不想活了", "wish"),
        ("最近老想紫砂", "wish"),
        ("zs算了", "wish"),
        ("活着没意思", "wish"),
        ("想消失", "wish"),
        ("我查过安眠药", "method"),
        ("我今晚想了很多", "time"),
        ("我已经站在天台上了", "place"),
        ("我把遗书放在抽屉里", "farewell"),
        ("我好绝望", "hopelessness"),
        ("我真的撑不下去了", "passive"),
        ("睡着了就不要醒", "passive"),
        ("我就是个累赘", "burden"),
        ("上次吃药没死成", "past_attempt"),
        ("我又开始自残了", "self_harm"),
        ("我已经吃了一整瓶安眠药", "attempt_now"),
        ("等中考完就", "plan"),
    ],
)
def test_each_crisis_concept_fires_with_its_rule_id(book, text, concept):
    result = run(book, text)
    assert concept in result.concepts
    assert any(r.startswith(f"crisis.{concept}:") for r in result.rules)


def test_ideation_alone_is_crisis_high(book):
    result = run(book, "我好想死")
    assert result.labels == {"crisis"}
    assert result.urgency == "high"
    assert 4 <= result.risk_level < 8
    assert "crisis.wish:好想死" in result.rules


@pytest.mark.parametrize(
    "text", ["我不想活了，今晚就吃安眠药", "已经吃了一瓶安眠药", "我现在就在楼顶，不想活了"]
)
def test_ideation_with_means_and_time_escalates_to_emergency(book, text):
    result = run(book, text)
    assert "crisis" in result.labels
    assert result.urgency == "emergency"
    assert result.risk_level >= 8


def test_method_alone_does_not_label(book):
    result = run(book, "跳楼机好刺激")
    assert "crisis" not in result.labels
    assert result.risk_level < 4


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("我没想自杀，只是有点累", "negation:我没想"),
        ("我从来没有想过要自杀", "negation:从来没有想"),
        ("我不想死，我想好好活着", "negation:不想死"),
    ],
)
def test_negation_cancels_ideation_and_is_reported(book, text, rule):
    result = run(book, text)
    assert "crisis" not in result.labels
    assert rule in result.rules
    assert result.negated


def test_negation_needs_to_be_close(book):
    # The first 不想 belongs to 去学校; 不想活 is ideation.
    result = run(book, "我不想去学校也不想活了")
    assert "crisis" in result.labels


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("今天累死了", "hyperbole:累死了"),
        ("笑死我了哈哈哈", "hyperbole:笑死我了"),
        ("这题要我命", "hyperbole:这题要我命"),
        ("想死你了宝贝", "hyperbole:想死你了"),
        ("热得想死", "hyperbole:热得想死"),
    ],
)
def test_hyperbole_does_not_trigger(book, text, rule):
    result = run(book, text)
    assert rule in result.rules
    assert not result.labels
    assert result.risk_level == 0


def test_impersonal_context_reports_but_does_not_label(book):
    result = run(book, "心理课上老师讲了怎么预防自杀")
    assert result.context
    assert "crisis" not in result.labels
    assert any(r.startswith("context:") for r in result.rules)


@pytest.mark.parametrize(
    ("text", "label", "urgency"),
    [
        ("他摸我还不让我告诉妈妈", "sexual_abuse", "high"),
        ("网上的人让我拍裸照", "sexual_abuse", "high"),
        ("我爸又用皮带打我", "abuse", "high"),
        ("有个人拿着刀在校门口", "danger", "emergency"),
        ("我女儿放学到现在还没回来，电话打不通", "danger", "emergency"),
        ("客服让我开屏幕共享", "fraud", "emergency"),
        ("爸妈出去打工不管我，我一个人在家好几天了", "neglect", "high"),
    ],
)
def test_harm_phrase_rules_raise_label_and_urgency(book, text, label, urgency):
    result = run(book, text)
    assert label in result.labels
    assert result.urgency == urgency
    assert any(r.startswith(f"{label}.") for r in result.rules)


def test_emergency_cue_alone_is_not_a_case(book):
    result = run(book, "救命！这道题好难")
    assert not result.labels
    assert result.urgency_if_harm == "emergency"

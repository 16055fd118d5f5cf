import pytest

from nlu.analysis import ELEMENT_KEYS
from nlu.elements import extract_elements, load_element_patterns
from nlu.normalize import normalize


@pytest.fixture(scope="module")
def patterns(nlu_paths):
    return load_element_patterns(nlu_paths.lexicon_dir)


def test_all_elements_of_a_report(patterns):
    text = normalize(
        "昨天晚上放学后在厕所，三个男生打我，班主任不管，我是阳光中学初二3班的，流血了"
    )
    elements = extract_elements(patterns, text)
    assert set(elements) == set(ELEMENT_KEYS)
    assert elements["time"] == ["昨天晚上", "放学后"]
    assert elements["place"] == ["厕所"]
    assert "班主任" in elements["people"] and "男生" in elements["people"]
    assert elements["school"] == ["阳光中学"]
    assert "初二" in elements["grade"]
    assert elements["injuries"] == ["流血"]
    assert elements["count"] == ["三个男生"]


def test_weekday_place_and_family(patterns):
    elements = extract_elements(patterns, normalize("上週五在校門口，繼父把我拉走了"))
    assert "上周五" in elements["time"]
    assert "校门口" in elements["place"]
    assert "继父" in elements["people"]


def test_nothing_found(patterns):
    elements = extract_elements(patterns, "嗯")
    assert all(values == [] for values in elements.values())


@pytest.mark.parametrize(
    ("text", "involved", "not_involved"),
    [
        ("我不敢告诉老师", [], ["老师"]),
        ("同学天天打我，我不敢告诉老师", ["同学"], ["老师"]),
        ("继父打我，我不敢跟妈妈说", ["继父"], ["妈妈"]),
        ("怕爸爸知道，舍友拍了我的照片", ["舍友"], ["爸爸"]),
        ("我告诉了班主任，但是三个男生还是打我", ["男生"], ["班主任"]),
        ("班主任打我", ["班主任"], []),
        ("我跟同学打架了", ["同学"], []),
    ],
)
def test_people_are_those_who_did_something(patterns, text, involved, not_involved):
    people = extract_elements(patterns, normalize(text))["people"]
    for person in involved:
        assert person in people
    for person in not_involved:
        assert person not in people


def test_time_words_resolve_against_the_receipt(nlu_paths):
    from datetime import datetime

    from nlu.elements import resolve_time

    monday = datetime(2026, 12, 7, 21, 30)  # local time of receipt
    assert resolve_time(nlu_paths.lexicon_dir, ["今天", "放学"], monday) == "2026年12月07日 放学后"
    assert resolve_time(nlu_paths.lexicon_dir, ["昨天晚上"], monday) == "2026年12月06日 晚上"
    assert resolve_time(nlu_paths.lexicon_dir, ["上周五"], monday) == "2026年12月04日"
    assert resolve_time(nlu_paths.lexicon_dir, ["12月20日"], monday) == "2025年12月20日"
    assert resolve_time(nlu_paths.lexicon_dir, ["晚上"], monday) is None  # which day is unknown
    assert resolve_time(nlu_paths.lexicon_dir, ["2月30日"], monday) is None

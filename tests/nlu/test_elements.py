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

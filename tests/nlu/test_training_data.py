import json

import pytest

from nlu.labels import LABELS, URGENCIES, join_labels, split_intent
from nlu.train import split_validation
from nlu.training_data import DataError, load_test_examples, load_training_examples

YAML = """version: "3.1"
nlu:
- intent: bullying+crisis
  metadata:
    urgency: high
  examples: |
    - 班上的人天天骂我，我真的撑不下去了
    - 他们打我
- intent: general
  metadata:
    urgency: low
  examples: |
    - 你好
"""


def test_constants():
    assert LABELS == (
        "bullying",
        "sexual_abuse",
        "abuse",
        "neglect",
        "crisis",
        "fraud",
        "danger",
        "general",
    )
    assert URGENCIES == ("emergency", "high", "medium", "low")


def test_intent_names():
    assert split_intent("bullying+crisis") == ("bullying", "crisis")
    assert join_labels({"crisis", "bullying"}) == "bullying+crisis"
    with pytest.raises(ValueError):
        split_intent("crisis+bullying")  # wrong order
    with pytest.raises(ValueError):
        split_intent("general+crisis")
    with pytest.raises(ValueError):
        split_intent("nonsense")


def test_load_training_yaml(tmp_path):
    (tmp_path / "a.yml").write_text(YAML, encoding="utf-8")
    examples = load_training_examples(tmp_path)
    assert [(e.labels, e.urgency) for e in examples] == [
        (("bullying", "crisis"), "high"),
        (("bullying", "crisis"), "high"),
        (("general",), "low"),
    ]
    assert examples[0].text == "班上的人天天骂我，我真的撑不下去了"


def test_bad_urgency_is_an_error(tmp_path):
    (tmp_path / "a.yml").write_text(YAML.replace("urgency: low", "urgency: soon"), "utf-8")
    with pytest.raises(DataError):
        load_training_examples(tmp_path)


def test_load_test_jsonl(tmp_path):
    line = {"text": "他摸我", "categories": ["sexual_abuse"], "urgency": "high"}
    (tmp_path / "t.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n\n", "utf-8")
    [example] = load_test_examples(tmp_path)
    assert example.labels == ("sexual_abuse",)


def test_project_data_is_valid_and_split_is_stratified(nlu_paths):
    examples = load_training_examples(nlu_paths.train_dir)
    assert len(examples) > 500
    train, validation = split_validation(examples, 0.15, 1)
    assert len(train) + len(validation) == len(examples)
    assert {e.labels for e in validation} >= {(label,) for label in LABELS}
    assert split_validation(examples, 0.15, 1) == (train, validation)  # reproducible
    assert len(load_test_examples(nlu_paths.test_dir)) >= 400


def test_test_lines_may_list_categories_in_any_order(tmp_path):
    # An external evaluation's file need not know the fixed label order.
    line = {"text": "网友拿照片要钱", "categories": ["fraud", "sexual_abuse"], "urgency": "high"}
    (tmp_path / "t.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    [example] = load_test_examples(tmp_path)
    assert example.labels == ("sexual_abuse", "fraud")
    line["categories"] = ["fraud", "general"]
    (tmp_path / "t.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    with pytest.raises(DataError):
        load_test_examples(tmp_path)


def test_held_out_lines_are_never_trained_on(nlu_paths):
    from nlu.normalize import normalize

    trained = {normalize(e.text) for e in load_training_examples(nlu_paths.train_dir)}
    nlu_dir = nlu_paths.data_dir / "nlu"
    for folder in (nlu_paths.test_dir, *(nlu_dir / n for n in ("dev", "blind", "quiet_crisis"))):
        held_out = [normalize(e.text) for e in load_test_examples(folder)]
        assert len(held_out) >= 400
        assert not trained.intersection(held_out), folder.name


def test_held_out_lines_have_no_near_duplicate_in_training(nlu_paths):
    """Not only exact matches: a held-out line that repeats a training line with a word
    changed or punctuation moved flatters the model (issue 15)."""
    from nlu.near_duplicates import near_duplicates

    training = [e.text for e in load_training_examples(nlu_paths.train_dir)]
    for name in ("test", "dev", "blind", "quiet_crisis"):
        held_out = [e.text for e in load_test_examples(nlu_paths.data_dir / "nlu" / name)]
        found = near_duplicates(held_out, training)
        assert found == [], (name, [(held_out[h][:20], round(s, 2)) for h, _, s in found])


def test_near_duplicates_are_found_beyond_exact_matches():
    from nlu.near_duplicates import near_duplicates, similarity

    training = ["我们班主任是魔鬼吧 周末布置了八张卷子", "今天天气很好"]
    held_out = ["我们班主任是魔鬼吧，周末布置八张卷子！", "明天要去春游了"]
    assert [(h, t) for h, t, _ in near_duplicates(held_out, training)] == [(0, 0)]
    assert similarity("活著沒意思", "活着没意思") == 1.0
    assert similarity("今天天气很好", "明天要去春游了") < 0.2

"""The trained spaCy backend with the rules on the project's test split."""

import pytest

from nlu.evaluation import evaluate
from nlu.training_data import load_test_examples


@pytest.fixture(scope="module")
def report(pipeline, trained_paths):
    return evaluate(pipeline, load_test_examples(trained_paths.test_dir))


def test_regression_floor(report):
    # What the current model and rules reach (docs/nlu.md); a change that falls below fails.
    assert report.per_label["crisis"].recall >= 0.90
    assert report.per_label["sexual_abuse"].recall >= 0.80
    assert report.urgency_recall("emergency") >= 0.80
    assert report.macro_f1 >= 0.80
    assert report.general_false_alarm_rate <= 0.10


@pytest.mark.xfail(reason="issue 3 targets not reached yet: see docs/nlu.md", strict=True)
def test_issue_targets(report):
    assert report.per_label["crisis"].recall >= 0.97
    assert report.per_label["sexual_abuse"].recall >= 0.95
    assert report.urgency_recall("emergency") >= 0.95
    assert report.macro_f1 >= 0.88
    assert report.general_false_alarm_rate <= 0.05


def test_crisis_language_end_to_end(pipeline):
    cases = {
        "紫砂算了 活着没意思": "crisis",
        "我已经吃了一整瓶安眠药": "crisis",
        "他摸我还不让我告诉妈妈": "sexual_abuse",
    }
    for text, label in cases.items():
        assert label in pipeline.analyze(text).labels, text
    assert pipeline.analyze("我已经吃了一整瓶安眠药").urgency == "emergency"
    assert pipeline.analyze("累死了 这题要我命").labels == ["general"]

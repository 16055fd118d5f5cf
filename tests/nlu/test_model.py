"""The trained spaCy backend with the rules on the project's test split and on the lines of
independent authors (data/nlu/dev, data/nlu/blind)."""

import pytest

from nlu.evaluation import evaluate
from nlu.training_data import load_test_examples


@pytest.fixture(scope="module")
def report(pipeline, trained_paths):
    return evaluate(pipeline, load_test_examples(trained_paths.test_dir))


def test_regression_floor(report):
    # What the current model and rules reach (docs/nlu.md, "Measured"), a little below so
    # that only a real regression fails.
    assert report.per_label["crisis"].recall >= 0.95
    assert report.per_label["sexual_abuse"].recall >= 0.92
    assert report.urgency_recall("emergency") >= 0.95
    assert report.macro_f1 >= 0.86
    assert report.general_false_alarm_rate <= 0.065


@pytest.fixture(scope="module")
def independent(pipeline, trained_paths):
    nlu_dir = trained_paths.data_dir / "nlu"
    return {
        name: evaluate(pipeline, load_test_examples(nlu_dir / name))
        for name in ("dev", "blind", "quiet_crisis")
    }


def test_regression_floor_on_lines_by_independent_authors(independent):
    # dev/ and blind/ were written by authors who never saw the training data or the rules;
    # blind/ is never read line by line (data/nlu/README.md). Floors a little below
    # docs/nlu.md, "Measured": a drop here means the model stopped carrying over to wording
    # nobody here wrote.
    dev, blind = independent["dev"], independent["blind"]
    assert min(dev.per_label["crisis"].recall, blind.per_label["crisis"].recall) >= 0.95
    assert min(dev.per_label["sexual_abuse"].recall, blind.per_label["sexual_abuse"].recall) >= 0.91
    assert min(dev.urgency_recall("emergency"), blind.urgency_recall("emergency")) >= 0.89
    assert min(dev.macro_f1, blind.macro_f1) >= 0.86
    assert dev.general_false_alarm_rate <= 0.04


def test_regression_floor_on_crisis_said_quietly(independent):
    # quiet_crisis/: two more authors' flat, hedged and noticed-by-others crisis lines, kept
    # out of training (as training data they added 11 of 2,000 Weibo false alarms and did not
    # carry over from one author to the other); the rules' quiet forms came from them.
    quiet = independent["quiet_crisis"]
    assert quiet.per_label["crisis"].recall >= 0.78
    assert quiet.general_false_alarm_rate <= 0.10


# Issue 3's targets, one test each (all met on 2026-11-29; a target missed again fails here).


def test_issue_target_recall_crisis(report):
    assert report.per_label["crisis"].recall >= 0.97


def test_issue_target_recall_sexual_abuse(report):
    assert report.per_label["sexual_abuse"].recall >= 0.95


def test_issue_target_recall_emergency(report):
    assert report.urgency_recall("emergency") >= 0.95


def test_issue_target_macro_f1(report):
    assert report.macro_f1 >= 0.88


def test_issue_target_general_false_alarms(report):
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


def test_short_replies_are_general_and_low(pipeline):
    # Answers to the bot's where/when/who questions: no harm in them on their own.
    for text in ("不想说", "在操场", "昨天", "班主任", "不知道", "在家", "我妈", "嗯"):
        analysis = pipeline.analyze(text)
        assert analysis.labels == ["general"], text
        assert analysis.urgency == "low", text
    assert "sexual_abuse" in pipeline.analyze("他摸我").labels


def _harm_lines_without_rule_evidence(pipeline, data_dir):
    from nlu.normalize import model_text
    from nlu.rules import apply_rules

    lines = []
    for name in ("test", "dev", "blind"):
        for example in load_test_examples(data_dir / "nlu" / name):
            found = apply_rules(pipeline.rulebook, model_text(example.text))
            if "general" not in example.labels and not (
                found.labels or found.concepts or found.topic_labels
            ):
                lines.append(example)
    return lines


def _harm_recall(pipeline, lines) -> float:
    analyses = pipeline.analyze_many([e.text for e in lines])
    return sum(bool(set(a.labels) & set(e.labels)) for a, e in zip(analyses, lines)) / len(lines)


def test_the_model_carries_harm_lines_the_rules_do_not_see(pipeline, trained_paths):
    """Issue 15: a model test on lines with no rule evidence at all, so that the rules cannot
    pass it for the model; a control backend that always answers general must fail it
    (measured 2026-12-07: model 522 of 591 = 0.883, control 0)."""
    from nlu.pipeline import Pipeline
    from tests.nlu.conftest import FixedBackend

    lines = _harm_lines_without_rule_evidence(pipeline, trained_paths.data_dir)
    assert len(lines) >= 400
    floor = 0.85
    assert _harm_recall(pipeline, lines) >= floor
    control = Pipeline(FixedBackend(), trained_paths, thresholds={})
    assert _harm_recall(control, lines) < floor

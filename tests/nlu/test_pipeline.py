"""Decision logic on top of a backend, independent of the trained model."""

import pytest

from nlu.backends import BackendUnavailable, split_scores
from nlu.labels import LABELS
from nlu.pipeline import ModelMissing, Pipeline, load_pipeline

from .conftest import FixedBackend


def scores(**values):
    return {label: values.get(label, 0.0) for label in LABELS} | {
        k.replace("urgency_", "urgency:"): v for k, v in values.items() if k.startswith("urgency_")
    }


def test_split_scores_rejects_unknown_keys():
    with pytest.raises(ValueError):
        split_scores({"crisis": 0.1, "suicide": 0.9})
    categories, urgency = split_scores({"crisis": 0.7, "urgency:high": 0.9})
    assert categories["crisis"] == 0.7 and categories["general"] == 0.0
    assert urgency == {"high": 0.9}


def test_rules_raise_label_over_a_general_model(quiet_pipeline):
    analysis = quiet_pipeline.analyze("我不想活了，今晚就吃安眠药")
    assert analysis.labels == ["crisis"]
    assert analysis.urgency == "emergency"
    assert analysis.mandatory_report  # emergency crisis = major incident
    assert analysis.risk_level >= 8
    assert "crisis.method:安眠药" in analysis.rules


def test_general_message(quiet_pipeline):
    analysis = quiet_pipeline.analyze("今天天气真好")
    assert analysis.labels == ["general"]
    assert analysis.urgency == "low"
    assert not analysis.mandatory_report
    assert analysis.rules == []


def test_hyperbole_suppresses_an_unsure_crisis_score(nlu_paths):
    backend = FixedBackend(scores(crisis=0.6, urgency_high=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={"crisis": 0.3}).analyze("累死了")
    assert analysis.labels == ["general"]
    assert "hyperbole:累死了" in analysis.rules
    assert analysis.urgency in ("low", "medium")


def test_label_floor_and_restriction(nlu_paths):
    backend = FixedBackend(scores(sexual_abuse=0.9, urgency_low=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={}).analyze("他那样对我")
    assert analysis.labels == ["sexual_abuse"]
    assert analysis.urgency == "high"  # floor from decision.yaml
    assert analysis.restricted and analysis.mandatory_report


def test_backend_without_urgency_scores(nlu_paths):
    backend = FixedBackend(scores(bullying=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={}).analyze("他们又来了")
    assert analysis.labels == ["bullying"] and analysis.urgency == "high"


def test_analyze_many_batches_and_keeps_order(nlu_paths):
    backend = FixedBackend()
    texts = ["一", "二", "三"]
    results = Pipeline(backend, nlu_paths).analyze_many(texts)
    assert len(results) == 3 and backend.calls == [texts]


def test_to_dict_contract(quiet_pipeline):
    data = quiet_pipeline.analyze("我叫张伟，电话13812345678，昨天在厕所被打").to_dict()
    assert set(data) >= {"labels", "urgency", "scores", "mandatory_report", "rules", "elements"}
    assert set(data["scores"]) == set(LABELS)
    assert set(data["elements"]) == {
        "time",
        "place",
        "people",
        "school",
        "grade",
        "injuries",
        "count",
    }
    assert [p["kind"] for p in data["pii"]] == ["name", "phone"]


def test_missing_model_raises_a_clear_error(tmp_path):
    with pytest.raises(ModelMissing, match="helpline nlu train"):
        load_pipeline(model_dir=tmp_path)
    assert issubclass(ModelMissing, BackendUnavailable)


def test_a_classifier_label_must_outscore_general(nlu_paths):
    backend = FixedBackend(scores(neglect=0.5, general=0.6))
    analysis = Pipeline(backend, nlu_paths, thresholds={"neglect": 0.3}).analyze("我一个人去办公室")
    assert analysis.labels == ["general"]
    backend = FixedBackend(scores(neglect=0.7, general=0.6))
    analysis = Pipeline(backend, nlu_paths, thresholds={"neglect": 0.3}).analyze("我一个人去办公室")
    assert analysis.labels == ["neglect"]


# Short answers to the bot's follow-up questions (where? when? who?): no harm found by the
# rules, so the classifier's drifting scores must not make them a case or an emergency.
SHORT_REPLIES = ["不想说", "在操场", "昨天", "班主任", "嗯", "我妈", "不知道", "初二。"]


@pytest.mark.parametrize("text", SHORT_REPLIES)
def test_short_reply_without_evidence_is_general_low(nlu_paths, text):
    # The scores short replies used to get: several harm labels around 0.5, emergency high.
    backend = FixedBackend(
        scores(crisis=0.66, bullying=0.42, abuse=0.5, general=0.3, urgency_emergency=0.6)
    )
    analysis = Pipeline(backend, nlu_paths, thresholds={"urgency:emergency": 0.2}).analyze(text)
    assert analysis.labels == ["general"]
    assert analysis.urgency == "low"
    assert not analysis.mandatory_report


def test_short_message_with_rule_evidence_keeps_its_label(quiet_pipeline):
    analysis = quiet_pipeline.analyze("他摸我")
    assert analysis.labels == ["sexual_abuse"] and analysis.urgency == "high"
    analysis = quiet_pipeline.analyze("想紫砂")
    assert "crisis" in analysis.labels


def test_short_message_with_a_confident_classifier_keeps_its_label(nlu_paths):
    backend = FixedBackend(scores(sexual_abuse=0.9, general=0.1, urgency_high=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={}).analyze("他那样对我")
    assert analysis.labels == ["sexual_abuse"] and analysis.urgency == "high"


def test_longer_message_is_not_treated_as_short(nlu_paths):
    backend = FixedBackend(scores(bullying=0.6, general=0.3, urgency_high=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={}).analyze("他们下课又把我的书扔了")
    assert analysis.labels == ["bullying"]


def test_crisis_without_a_concept_needs_a_higher_score(nlu_paths):
    from dataclasses import replace

    backend = FixedBackend(scores(crisis=0.5, general=0.2, urgency_high=0.9))
    pipeline = Pipeline(backend, nlu_paths, thresholds={"crisis": 0.3})
    pipeline.decision = replace(
        pipeline.decision, crisis_without_concept=0.6, crisis_concept_min_risk=3
    )
    assert pipeline.analyze("最近心情一直不好，天天下雨").labels == ["general"]
    # A crisis concept (wish to die) next to the same score: the rules raise crisis anyway.
    assert "crisis" in pipeline.analyze("最近心情一直不好，真的不想活了").labels
    backend.scores["crisis"] = 0.7
    assert pipeline.analyze("最近心情一直不好，天天下雨").labels == ["crisis"]


def test_an_urgent_message_is_not_left_general(nlu_paths):
    # No harm label passes its threshold, but the classifier's urgency says emergency: the
    # most likely harm label is taken (decision.yaml urgent_harm).
    backend = FixedBackend(
        scores(danger=0.08, neglect=0.05, general=0.6, urgency_emergency=0.7, urgency_low=0.1)
    )
    pipeline = Pipeline(backend, nlu_paths, thresholds={"urgency:emergency": 0.3})
    analysis = pipeline.analyze("商场里找了半个小时了还是没有看到人")
    assert analysis.labels == ["danger"] and analysis.urgency == "emergency"
    # Emergency plus high past the bar also counts, when the harm score is not negligible.
    backend.scores.update(scores(abuse=0.15, general=0.6, urgency_emergency=0.2, urgency_high=0.7))
    assert pipeline.analyze("他拿着那个东西过来了我在房间里").labels == ["abuse"]
    backend.scores["abuse"] = 0.02
    assert pipeline.analyze("他拿着那个东西过来了我在房间里").labels == ["general"]


def test_urgent_harm_does_not_apply_to_short_replies(nlu_paths):
    backend = FixedBackend(scores(danger=0.3, general=0.5, urgency_emergency=0.9))
    analysis = Pipeline(backend, nlu_paths, thresholds={}).analyze("在商场")
    assert analysis.labels == ["general"] and analysis.urgency == "low"


def test_crisis_said_in_passing_beside_another_harm_is_kept(nlu_paths):
    # decision.yaml secondary_label: once a message is a case, crisis needs
    # only its secondary score (0.15), below the floor a label alone needs (0.2).
    backend = FixedBackend(scores(bullying=0.9, crisis=0.16, general=0.05, urgency_high=0.9))
    pipeline = Pipeline(backend, nlu_paths, thresholds={"bullying": 0.3, "crisis": 0.3})
    text = "他们天天在厕所堵我 抢我的饭钱 我也不知道还能撑多久"
    assert pipeline.analyze(text).labels == ["bullying", "crisis"]
    # Below the secondary score, the other harm stays alone.
    backend.scores["crisis"] = 0.1
    assert pipeline.analyze(text).labels == ["bullying"]
    # The secondary score with no other harm (model or rules) is not a case.
    backend.scores.update(bullying=0.05, crisis=0.16, general=0.2)
    assert pipeline.analyze("最近有点累 不太想说话").labels == ["general"]


def test_hyperbole_still_explains_a_secondary_crisis_away(nlu_paths):
    backend = FixedBackend(scores(bullying=0.9, crisis=0.4, general=0.05, urgency_high=0.9))
    pipeline = Pipeline(backend, nlu_paths, thresholds={"bullying": 0.3, "crisis": 0.5})
    assert pipeline.analyze("同桌又把我的笔藏起来了 烦死了").labels == ["bullying"]


def test_a_backend_without_tuned_thresholds_gets_no_secondary_labels(nlu_paths):
    # Rasa ships no thresholds: its scores are on another scale than the secondary values.
    backend = FixedBackend(scores(bullying=0.9, crisis=0.3, general=0.05, urgency_high=0.9))
    text = "他们天天在厕所堵我 抢我的饭钱 我也不知道还能撑多久"
    assert Pipeline(backend, nlu_paths, thresholds={}).analyze(text).labels == ["bullying"]
    tuned = Pipeline(backend, nlu_paths, thresholds={"bullying": 0.3, "crisis": 0.5})
    assert tuned.analyze(text).labels == ["bullying", "crisis"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("最近群里好多刷单骗局的广告 看得好烦", "fraud"),
        ("欺凌和霸凌是一个意思吗", "bullying"),
    ],
)
def test_a_word_that_names_a_harm_yields_to_a_confident_general_reading(nlu_paths, text, label):
    general = Pipeline(FixedBackend(scores(general=0.95, urgency_low=0.9)), nlu_paths, {})
    analysis = general.analyze(text)
    assert analysis.labels == ["general"]
    assert analysis.urgency == "low"
    assert any(r.startswith(f"{label}.topic:") for r in analysis.rules)  # still reported


def test_a_word_that_names_a_harm_raises_its_label_when_the_message_is_not_general(nlu_paths):
    unsure = Pipeline(FixedBackend(scores(general=0.2, urgency_medium=0.9)), nlu_paths, {})
    analysis = unsure.analyze("我好像遇到诈骗了")
    assert analysis.labels == ["fraud"]
    assert analysis.urgency == "medium"
    # a short message that names a harm is evidence, not a bare reply
    assert unsure.analyze("校园贷").labels == ["fraud"]


def test_a_message_that_is_only_a_harm_word_names_the_childs_problem(nlu_paths):
    general = Pipeline(FixedBackend(scores(general=0.95, urgency_low=0.9)), nlu_paths, {})
    assert general.analyze("欺凌").labels == ["bullying"]
    assert general.analyze("诈骗！").labels == ["fraud"]


def test_no_secondary_label_on_a_few_characters(nlu_paths):
    backend = FixedBackend(scores(fraud=0.9, crisis=0.2, urgency_medium=0.9))
    pipeline = Pipeline(backend, nlu_paths, thresholds={"fraud": 0.3, "crisis": 0.3})
    assert pipeline.analyze("被骗了").labels == ["fraud"]
    # the same scores on a real story keep the crisis said in passing
    longer = pipeline.analyze("网上认识的人骗走了我攒了两年的钱 我这几天一直睡不着")
    assert "crisis" in longer.labels

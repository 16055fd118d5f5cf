from nlu.statutory import is_restricted, load_statutory_rules, mandatory_report


def test_mandatory_categories_follow_the_data():
    rules = load_statutory_rules()
    for label in ("sexual_abuse", "abuse", "neglect", "bullying", "danger"):
        assert mandatory_report([label], "high"), label
        assert rules.categories[label].mandatory
    assert not mandatory_report(["crisis"], "high")
    assert not mandatory_report(["fraud"], "emergency")
    assert not mandatory_report(["general"], "low")


def test_emergency_crisis_is_a_major_incident():
    assert mandatory_report(["crisis"], "emergency")
    assert load_statutory_rules().is_major_incident(["crisis"], "emergency")


def test_sexual_abuse_is_restricted():
    assert is_restricted(["bullying", "sexual_abuse"])
    assert not is_restricted(["bullying"])


def test_raw_rules_are_exposed_for_escalation():
    rules = load_statutory_rules()
    assert rules.raw["reports"]["police_report"]["deadline_minutes"] == 60
    assert "police_report" in rules.categories["sexual_abuse"].reports

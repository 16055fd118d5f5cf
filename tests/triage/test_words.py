"""One vocabulary for the names people read; no raw codes; readable rule reasons; one clock."""

from __future__ import annotations

from datetime import UTC, datetime

from escalation.config import label_words, settings
from helpline.localtime import local_time
from helpline.vocabulary import vocabulary
from nlu.labels import LABELS, URGENCIES
from registers.config import words as register_words
from triage.caseview import words as console_words
from triage.models import Role
from triage.reasons import reason, reasons


def test_every_code_has_one_name_everywhere() -> None:
    names = vocabulary()
    assert set(names["labels"]) == set(LABELS)
    assert set(names["urgencies"]) == set(URGENCIES)
    assert set(names["roles"]) == {role.value for role in Role}
    for table in ("labels", "urgencies", "channels", "reporter_kinds"):
        assert register_words(table) == names[table] == console_words()[table]
    assert console_words()["roles"] == names["roles"]
    for code, name in names["labels"].items():
        assert label_words()[code] == name  # alerts and the fast report


def test_alert_title_reads_as_urgent_or_high_risk_case() -> None:
    title = settings()["alert"]["title"]
    assert title.format(urgency=vocabulary()["urgencies"]["emergency"], number="1").count(
        "紧急个案"
    )
    high = title.format(urgency=vocabulary()["urgencies"]["high"], number="1")
    assert "高风险个案" in high and "高级" not in high


def test_rule_ids_become_reasons() -> None:
    assert reason("sexual_abuse.now:脱我") == "性侵害 · 正在发生的危险：“脱我”"
    assert reason("crisis.wish:想死") == "心理危机迹象 · 自杀意念：“想死”"
    assert "7" in reason("crisis.risk:7")
    assert reason("something.unknown:x") == "其他规则"
    for rule in ("bullying.cue:打我", "emergency.now:救命", "negation:不想", "counsellor_relabel"):
        shown = reason(rule)
        assert "." not in shown and "_" not in shown and rule.split(":")[0] not in shown
    assert reasons(["crisis.wish:想死", "crisis.wish:想死"]) == ["心理危机迹象 · 自杀意念：“想死”"]


def test_local_time_is_beijing_with_the_date() -> None:
    assert local_time(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "2027-01-01 01:30"
    assert local_time(None) == ""

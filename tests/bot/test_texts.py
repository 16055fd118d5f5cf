"""What a reporter is told, from data/bot/: order, regions, questions; and the plugin wiring."""

from __future__ import annotations

import pytest

from bot import texts
from bot.delivery import chunks


def test_emergency_blocks_come_first_and_end_with_the_alert() -> None:
    blocks = texts.safety_blocks(["crisis", "fraud"], "emergency", True, None)
    kinds = [b.kind for b in blocks]
    assert kinds[:3] == ["emergency", "emergency", "note"]
    assert kinds[-1] == "mandatory" and "fraud" in kinds
    numbers = [h.number for h in blocks[1].lines]
    assert numbers[:2] == ["110", "120"] and "400-161-9995" in numbers


def test_emergency_lists_only_lines_that_answer_at_night() -> None:
    for region in ("default", "beijing"):
        (_, lines, _) = texts.safety_blocks(["crisis"], "emergency", False, region)
        assert lines.text == texts.text("emergency_lines")  # "24小时可以打的电话"
        assert lines.lines and all(h.all_day for h in lines.lines)
        assert "12355" not in lines.render()  # office hours only: not promised at 3 a.m.
    every = [h for kind in ("emergency", "crisis", "fraud") for h in texts.hotlines(None, kind)]
    assert all(h.all_day == (h.hours == "24小时") for h in every)  # the flag matches the words


def test_fraud_steps_come_with_the_regions_numbers() -> None:
    (fraud,) = texts.safety_blocks(["fraud"], "high", False, None)
    assert fraud.kind == "fraud" and "停止转账" in fraud.text and "验证码" in fraud.text
    assert [h.number for h in fraud.lines] == ["110", "96110"]
    assert "96110" in fraud.render()


def test_regions_override_and_default_fills_gaps() -> None:
    beijing = texts.hotlines("beijing", "crisis")
    assert beijing[0].number == "010-82951332"
    assert texts.hotlines("beijing", "fraud") == texts.hotlines("default", "fraud")
    assert texts.hotlines("nowhere", "crisis") == texts.hotlines("default", "crisis")
    assert [h.number for h in texts.hotlines(None, "fraud")] == ["110", "96110"]


def test_general_message_gets_no_safety_block() -> None:
    assert texts.safety_blocks(["general"], "low", False, None) == []
    assert texts.acknowledgement(["general"], False) == texts.text("received.general")
    assert texts.acknowledgement(["bullying"], False) == texts.text("received.harm")


def test_missing_elements_one_at_a_time() -> None:
    assert texts.missing_element({}, []) == "time"
    assert texts.missing_element({"time": ["昨天"]}, []) == "place"
    assert texts.missing_element({}, ["time", "place"]) == "people"
    assert texts.missing_element({"people": ["同学"]}, ["time", "place"]) is None


def test_long_replies_are_split_for_telegram() -> None:
    text = ("老师的话。\n" * 1500).strip()
    parts = chunks(text)
    assert all(len(p) <= 4096 for p in parts) and len(parts) > 1
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert chunks("短") == ["短"]


def test_plugin_runs_the_bot_only_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import plugin
    from helpline.settings import reset_settings

    monkeypatch.delenv("HELPLINE_TELEGRAM_TOKEN", raising=False)
    reset_settings()
    assert plugin.background_services() == [plugin.warm_up]
    monkeypatch.setenv("HELPLINE_TELEGRAM_TOKEN", "1:x")
    reset_settings()
    from bot.telegram_service import run_telegram

    assert plugin.background_services() == [run_telegram]
    monkeypatch.delenv("HELPLINE_TELEGRAM_TOKEN")
    reset_settings()

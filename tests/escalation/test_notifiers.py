"""Notifier formats: Telegram with an Acknowledge button, WeCom and DingTalk robots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import urllib.parse

import pytest
from sqlalchemy import select, update

from escalation import ack, config_import, notifiers
from escalation.models import Delivery, Escalation
from escalation.notifier import Notice
from escalation.worker import Worker
from helpline.db import session_scope
from helpline.settings import reset_settings
from tests.escalation.support import WebhookReceiver
from tests.escalation.test_end_to_end import _submit
from tests.support.telegram import TelegramStandin
from triage.models import StaffUser


def _info() -> Notice:
    return notifiers.AlertInfo(
        alert_id=7,
        number="2026-000007",
        category="欺凌",
        urgency="高",
        deadline="2026-11-23 10:10",
        link="http://testserver/console/cases/7",
        ack_link="http://testserver/escalation/ack/7.x",
        callback_data=ack.callback_data(7),
    ).notice()


def test_dingtalk_signature_is_the_documented_one() -> None:
    url = notifiers.dingtalk_signed_url("https://oapi.example/robot/send?access_token=t", "SEC", 1)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    digest = hmac.new(b"SEC", b"1\nSEC", hashlib.sha256).digest()
    assert query["timestamp"] == ["1"]
    assert query["sign"] == [base64.b64encode(digest).decode()]
    assert query["access_token"] == ["t"]


async def test_robot_payloads(db_url: str) -> None:
    with WebhookReceiver() as robot:
        await notifiers.send_wecom(robot.url, _info())
        await notifiers.send_dingtalk(robot.url, "SEC", _info())
        robot.answer = {"errcode": 310000, "errmsg": "sign not match"}
        with pytest.raises(notifiers.NotifyError, match="robot_errcode_310000"):
            await notifiers.send_dingtalk(robot.url, "SEC", _info())
    wecom, ding = robot.received[0].body, robot.received[1].body
    assert wecom["msgtype"] == "markdown" and "2026-000007" in wecom["markdown"]["content"]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"].startswith("【求助热线】")
    assert {"timestamp", "sign"} <= set(robot.received[1].query)


async def test_telegram_button_acknowledges(wired: dict, clock) -> None:  # noqa: ANN001
    with TelegramStandin() as api:
        os.environ["HELPLINE_TELEGRAM_TOKEN"] = api.token
        os.environ["HELPLINE_TELEGRAM_BASE_URL"] = api.base_url
        reset_settings()
        try:
            async with session_scope() as session:
                await session.execute(
                    update(StaffUser)
                    .where(StaffUser.username == "duty.a")
                    .values(telegram_chat_id="424242")
                )
            case_id = await _submit()
            await Worker(clock).drain()
            (call,) = api.wait_for("sendMessage", chat_id=424242)
        finally:
            for name in ("HELPLINE_TELEGRAM_TOKEN", "HELPLINE_TELEGRAM_BASE_URL"):
                os.environ.pop(name, None)
            reset_settings()
    assert "刘建国" not in call.text and "赵值班" not in call.text
    (button,) = call.buttons()
    data = button["callback_data"]
    assert data.startswith("ack:") and len(data.encode()) < 64
    async with session_scope() as session:
        forged = data[:-1] + ("1" if data.endswith("0") else "0")
        assert await ack.acknowledge_token(session, forged) == "invalid"
        assert await ack.acknowledge_token(session, data, via="telegram") == "acknowledged"
        chain = (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()
        delivery = await session.get(Delivery, int(data.split(":")[1]))
        assert chain.state == "acked" and chain.acked_via == "telegram"
        assert chain.acked_by_id == delivery.staff_id


async def test_group_robot_in_a_chain(db_url: str, clock) -> None:  # noqa: ANN001
    from assembly import wiring

    wiring.wire_hooks()
    with WebhookReceiver() as robot:
        async with session_scope() as session:
            await config_import.add_channel(
                session,
                {"org": "sch-a", "name": "g", "kind": "dingtalk", "url": robot.url, "secret": "S"},
            )
            await config_import.add_policy(
                session,
                {
                    "org": "sch-a",
                    "name": "robot only",
                    "urgencies": ["high", "emergency"],
                    "steps": [{"notify": "group", "group": "g", "wait_minutes": 1}],
                },
            )
        await _submit()
        await Worker(clock).drain()
    assert len(robot.received) == 1 and "sign" in robot.received[0].query

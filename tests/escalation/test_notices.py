"""One notice type for every message to a person (issue 20): an escalation alert and the
monthly-statistics notice go through the same notifiers as `escalation.notifier.Notice`; the
statistics notice is a notice of its own kind (no alert id, nothing to acknowledge), not an
alert with empty fields and a negative id."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation import delivery, notifier
from escalation.models import Delivery
from escalation.notifier import NoticeKind, NotifyError, Target
from escalation.worker import Worker
from helpline.db import session_scope, utcnow
from helpline.settings import reset_settings
from registers.schedule import statistics_notice
from tests.escalation.support import WebhookReceiver
from tests.support.load import queue_alerts
from tests.support.smtp import SmtpSink
from tests.support.telegram import TelegramStandin
from triage.models import Organisation


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        os.environ["HELPLINE_SMTP_HOST"] = "127.0.0.1"
        os.environ["HELPLINE_SMTP_PORT"] = str(sink.port)
        reset_settings()
        yield sink
        for name in ("HELPLINE_SMTP_HOST", "HELPLINE_SMTP_PORT"):
            os.environ.pop(name, None)
        reset_settings()


async def _school() -> Organisation:
    async with session_scope() as session:
        return (
            await session.execute(select(Organisation).where(Organisation.code == "sch-a"))
        ).scalar_one()


async def _alert_notice() -> notifier.Notice:
    """The notice of one real alert, as the worker builds it from its delivery row."""
    with WebhookReceiver() as receiver:
        async with session_scope() as session:
            (alert_id,) = await queue_alerts(session, 1, receiver.url, utcnow() - timedelta(1))
        async with session_scope() as session:
            found = await session.get(Delivery, alert_id)
            assert found is not None
            return (await delivery.alert_info(session, found)).notice()


async def test_an_alert_and_the_statistics_notice_through_the_same_notifiers(
    db_url: str, smtp: SmtpSink
) -> None:
    school = await _school()
    notice = statistics_notice(school, "2025-10", 13)
    alert = await _alert_notice()
    assert notice.kind == NoticeKind.statistics and notice.alert_id is None
    assert notice.acknowledge is None and notice.fields["org"] == school.name
    assert alert.kind == NoticeKind.alert and alert.alert_id and alert.acknowledge is not None

    with WebhookReceiver() as hook:
        for sent in (alert, notice):
            await delivery.send("webhook", (hook.url, None), sent)
            await delivery.send("email", ("lead@example.invalid", None), sent)
    alert_hook, notice_hook = (item.body for item in hook.received)
    assert alert_hook["type"] == "helpline.alert" and alert_hook["alert_id"] == alert.alert_id
    assert alert_hook["number"] == alert.fields["number"]
    assert notice_hook["type"] == "helpline.statistics" and "alert_id" not in notice_hook
    assert notice_hook["month"] == "2025-10" and notice_hook["day"] == 13
    assert "/console/statistics?month=2025-10&org=sch-a" in notice_hook["link"]
    assert "number" not in notice_hook and "ack_link" not in notice_hook  # no empty alert fields

    (_, alert_mail, _), (_, notice_mail, _) = smtp.messages
    assert alert_mail["X-Helpline-Notice"] == "alert"
    assert alert_mail["X-Helpline-Alert-Id"] == str(alert.alert_id)
    assert alert.acknowledge.line in alert_mail.get_content()
    assert notice_mail["X-Helpline-Notice"] == "statistics"
    assert notice_mail["X-Helpline-Alert-Id"] is None
    assert notice_mail["Subject"] == notice.subject
    assert all(line in notice_mail.get_content() for line in notice.body)


async def test_telegram_shows_every_line_and_a_button_only_on_an_alert(db_url: str) -> None:
    school = await _school()
    notice, alert = statistics_notice(school, "2025-10", 24), await _alert_notice()
    with TelegramStandin() as api:
        os.environ["HELPLINE_TELEGRAM_TOKEN"] = api.token
        os.environ["HELPLINE_TELEGRAM_BASE_URL"] = api.base_url
        reset_settings()
        try:
            await delivery.send("telegram", ("515151", None), notice)
            (plain,) = api.wait_for("sendMessage", chat_id=515151)
            await delivery.send("telegram", ("616161", None), alert)
            (alerted,) = api.wait_for("sendMessage", chat_id=616161)
        finally:
            for name in ("HELPLINE_TELEGRAM_TOKEN", "HELPLINE_TELEGRAM_BASE_URL"):
                os.environ.pop(name, None)
            reset_settings()
    # Every line of the notice, its last one too (the alert's last line is its button).
    assert plain.text.splitlines() == [notice.subject, *notice.body]
    assert plain.buttons() == []
    (button,) = alerted.buttons()
    assert button["callback_data"] == alert.acknowledge.callback_data
    assert alert.acknowledge.line not in alerted.text


async def test_a_phone_notifier_refuses_a_notice_that_is_not_an_alert(db_url: str) -> None:
    notice = statistics_notice(await _school(), "2025-10", 28)
    sms = notifier.get("sms")
    assert sms is not None
    with pytest.raises(NotifyError, match="sms_alerts_only"):
        await sms.send(Target("+8613800000000", None, None), notice)


async def test_the_worker_sends_an_alert_as_its_notice(db_url: str) -> None:
    with WebhookReceiver() as receiver:
        async with session_scope() as session:
            ids = await queue_alerts(session, 2, receiver.url, utcnow() - timedelta(seconds=1))
        await Worker().drain()
    assert sorted(item.body["alert_id"] for item in receiver.received) == sorted(ids)
    assert {item.body["type"] for item in receiver.received} == {"helpline.alert"}

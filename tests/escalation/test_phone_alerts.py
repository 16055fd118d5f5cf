"""SMS and voice alerts through Alibaba Cloud and Tencent Cloud, against local stand-ins that
check the request signatures with their own implementation of each cloud's algorithm."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, text

from escalation import cloud_signing, phone_alerts, phone_receipts
from escalation.models import AlertProfile, Delivery, Escalation, EscalationPolicy
from escalation.notifier import Notice, NotifyError, Target, get
from escalation.notifiers import AlertInfo
from escalation.outcomes import backoff
from escalation.phone_models import PhoneReceipt
from escalation.worker import Worker
from helpline.db import session_scope
from helpline.settings import reset_settings
from tests.cloud_standins import AliyunStandin, TencentStandin
from tests.escalation.test_end_to_end import _submit
from triage.models import Case, StaffUser

pytestmark = pytest.mark.asyncio
PHONE = "+86 138-0013-8000"
CALLBACK_SECRET = "receipts-secret-42"  # noqa: S105 - a test value


@pytest.fixture
def clouds() -> Iterator[tuple[AliyunStandin, TencentStandin]]:
    with AliyunStandin() as aliyun, TencentStandin() as tencent:
        env = {
            "HELPLINE_ALIYUN_ACCESS_KEY_ID": aliyun.key_id,
            "HELPLINE_ALIYUN_ACCESS_KEY_SECRET": aliyun.secret,
            "HELPLINE_ALIYUN_SMS_ENDPOINT": aliyun.url,
            "HELPLINE_ALIYUN_VOICE_ENDPOINT": aliyun.url,
            "HELPLINE_TENCENT_SECRET_ID": tencent.secret_id,
            "HELPLINE_TENCENT_SECRET_KEY": tencent.secret_key,
            "HELPLINE_TENCENT_SMS_ENDPOINT": tencent.url,
            "HELPLINE_TENCENT_VOICE_ENDPOINT": tencent.url,
            "HELPLINE_PHONE_CALLBACK_SECRET": CALLBACK_SECRET,
        }
        os.environ.update(env)
        reset_settings()
        try:
            yield aliyun, tencent
        finally:
            for name in env:
                os.environ.pop(name, None)
            reset_settings()


def _info(alert_id: int = 7) -> Notice:
    return AlertInfo(
        alert_id=alert_id,
        number="HL-2026-000123",
        category="欺凌",
        urgency="紧急",
        deadline="2026-12-07 18:00",
        link="http://testserver/console/cases/1",
        ack_link="http://testserver/escalation/ack/7.abcdef",
        callback_data="ack:7:abc",
    ).notice()


async def _staff_id(username: str) -> int:
    async with session_scope() as s:
        return int(
            (
                await s.execute(select(StaffUser.id).where(StaffUser.username == username))
            ).scalar_one()
        )


async def test_signatures_are_the_documented_ones(clouds) -> None:  # noqa: ANN001
    aliyun, tencent = clouds
    # Both sides agree; one changed character and the stand-ins' check fails.
    params = cloud_signing.aliyun_signed(
        "SendSms", "2017-05-25", aliyun.key_id, aliyun.secret, {"A": "a b*~"}, "cn-hangzhou"
    )
    assert params["Signature"] == aliyun.expected_signature(params)
    assert params["Signature"] != aliyun.expected_signature({**params, "A": "a b*"})
    assert cloud_signing.percent_encode("a b*~/") == "a%20b%2A~%2F"
    body = b'{"x": 1}'
    headers = cloud_signing.tc3_headers(
        tencent.secret_id, tencent.secret_key, "sms", "h", "SendSms", "v", "r", body, 1700000000
    )
    assert headers["Authorization"].startswith(
        f"TC3-HMAC-SHA256 Credential={tencent.secret_id}/2023-11-14/sms/tc3_request, "
        "SignedHeaders=content-type;host;x-tc-action, Signature="
    )


async def test_sms_and_voice_reach_both_clouds(db_url: str, clouds) -> None:  # noqa: ANN001
    aliyun, tencent = clouds
    district = await _staff_id("duty.district")  # qp-demo: SMS by Alibaba, voice by Tencent
    sms, voice = get("sms"), get("voice")
    assert sms is not None and voice is not None and sms.ready() and voice.ready()

    await sms.send(Target(PHONE, None, district), _info(7))
    (sent,) = aliyun.accepted("SendSms")
    assert sent.params["PhoneNumbers"] == "13800138000" and sent.params["OutId"] == "7"
    assert sent.params["TemplateParam"] == (
        '{"number": "HL-2026-000123", "urgency": "紧急", '
        '"link": "http://testserver/escalation/ack/7.abcdef"}'
    )
    await voice.send(Target(PHONE, None, district), _info(8))
    (call,) = tencent.accepted("SendTtsVoice")
    assert call.params["CalledNumber"] == "+8613800138000"
    assert call.params["TemplateParamSet"] == ["HL-2026-000123", "紧急"]

    # A school's duty officer is paged as their district says (qp-demo: voice by Tencent).
    school = await _staff_id("duty.a")
    await voice.send(Target(PHONE, None, school), _info(10))
    assert [c.params["SessionContext"] for c in tencent.accepted("SendTtsVoice")] == ["8", "10"]
    # A district without an entry gets `default`: Alibaba, whose call has the key menu.
    assert phone_alerts.provider_for("no-such-district", "voice") == "aliyun"
    ref = await phone_alerts.send_voice("aliyun", PHONE, _info(9))
    await phone_alerts.record_accepted(9, "aliyun", "voice", ref)
    (ivr,) = aliyun.accepted("IvrCall")
    assert ivr.params["MenuKeyMap.1.Key"] == "1" and ivr.params["CalledNumber"] == "13800138000"
    async with session_scope() as s:
        rows = (await s.execute(select(PhoneReceipt).order_by(PhoneReceipt.id))).scalars().all()
        assert [(r.delivery_id, r.provider, r.kind, r.state) for r in rows] == [
            (7, "aliyun", "sms", "accepted"),
            (8, "tencent", "voice", "accepted"),
            (10, "tencent", "voice", "accepted"),
            (9, "aliyun", "voice", "accepted"),
        ]
        dump = " ".join(
            str(v)
            for row in (await s.execute(text("SELECT * FROM escalation_phone_receipts")))
            for v in row
        )
        assert "13800138000" not in dump  # no phone number kept with the receipts


async def test_a_wrong_key_or_a_down_cloud_is_a_failure(db_url: str, clouds) -> None:  # noqa: ANN001
    aliyun, tencent = clouds
    district = await _staff_id("duty.district")
    sms, voice = get("sms"), get("voice")
    assert sms is not None and voice is not None
    os.environ["HELPLINE_ALIYUN_ACCESS_KEY_SECRET"] = "not-the-secret"
    os.environ["HELPLINE_TENCENT_SECRET_KEY"] = "not-the-key"
    reset_settings()
    with pytest.raises(NotifyError, match="aliyun_SendSms_SignatureDoesNotMatch"):
        await sms.send(Target(PHONE, None, district), _info())
    with pytest.raises(NotifyError, match="tencent_SendTtsVoice_AuthFailure.SignatureFailure"):
        await voice.send(Target(PHONE, None, district), _info())
    os.environ["HELPLINE_ALIYUN_ACCESS_KEY_SECRET"] = aliyun.secret
    reset_settings()
    aliyun.fail_next(1)
    with pytest.raises(NotifyError, match="http_status_503"):
        await sms.send(Target(PHONE, None, district), _info())
    assert aliyun.accepted() == [] and tencent.accepted() == []


async def test_alert_retried_delivered_receipted_and_acknowledged_by_key(
    wired: dict,
    clock,
    clouds,  # noqa: ANN001
) -> None:
    aliyun, tencent = clouds
    async with session_scope() as s:
        duty = (
            await s.execute(select(StaffUser).where(StaffUser.username == "duty.a"))
        ).scalar_one()
        duty.phone = PHONE
        s.add(AlertProfile(staff_id=duty.id, channels=["voice", "sms"]))
    raw = None
    async with session_scope() as s:
        raw = (
            await s.execute(text("SELECT phone FROM staff_users WHERE username = 'duty.a'"))
        ).scalar_one()
    assert "13800138000" not in raw  # encrypted at rest

    tencent.fail_next(1)  # qp-demo's voice cloud is down for the first attempt
    case_id = await _submit()
    worker = Worker(clock)
    await worker.drain()
    assert tencent.accepted("SendTtsVoice") == []
    async with session_scope() as s:
        urgency = (await s.get(Case, case_id)).urgency
    clock.advance(seconds=backoff(1, urgency))
    await worker.drain()
    (call,) = tencent.accepted("SendTtsVoice")
    async with session_scope() as s:
        voice = (
            await s.execute(
                select(Delivery).where(Delivery.case_id == case_id, Delivery.channel == "voice")
            )
        ).scalar_one()
        assert voice.state == "sent" and voice.attempts == 2
        assert call.params["SessionContext"] == str(voice.id)
        assert call.params["TemplateParamSet"][0] == (await s.get(Case, case_id)).number

    # The cloud's receipts: the call was answered, and 1 pressed: the chain stops.
    from assembly.app import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        base = f"/escalation/phone/{CALLBACK_SECRET}/tencent/voice"
        wrong = await client.post("/escalation/phone/guess/tencent/voice", json={})
        assert wrong.status_code == 404
        junk = await client.post(base, content=b"not json")
        assert junk.status_code == 400
        prompt = {"voiceprompt_callback": {"callid": call.ref, "result": "0", "mobile": "x"}}
        assert (await client.post(base, json=prompt)).json() == {"result": 0, "errmsg": "OK"}
        key = {
            "voicekey_callback": {
                "call_from": "",
                "callid": call.ref,
                "keypress": "1",
                "mobile": "13800138000",
                "nationcode": "86",
            }
        }
        assert (await client.post(base, json=key)).json() == {"result": 0, "errmsg": "OK"}
    async with session_scope() as s:
        chain = (
            (await s.execute(select(Escalation).where(Escalation.case_id == case_id)))
            .scalars()
            .first()
        )
        assert chain is not None and chain.state == "acked" and chain.acked_via == "voice"
        receipt = (
            await s.execute(select(PhoneReceipt).where(PhoneReceipt.ref == call.ref))
        ).scalar_one()
        assert receipt.state == "acknowledged"


async def test_receipts_update_only_what_was_sent(app, db_url: str, clouds, client) -> None:  # noqa: ANN001
    aliyun, tencent = clouds
    district = await _staff_id("duty.district")
    sms = get("sms")
    assert sms is not None
    await sms.send(Target(PHONE, None, district), _info(21))
    (sent,) = aliyun.accepted("SendSms")
    base = f"/escalation/phone/{CALLBACK_SECRET}"
    ok = await client.post(
        f"{base}/aliyun/sms",
        json=[{"biz_id": sent.ref, "success": True, "err_code": "DELIVERED", "phone_number": "x"}],
    )
    assert ok.json() == {"code": 0, "msg": "成功"}
    unknown = await client.post(
        f"{base}/tencent/sms",
        json=[{"sid": "never-sent", "report_status": "SUCCESS", "mobile": "13800138000"}],
    )
    assert unknown.json() == {"result": 0, "errmsg": "OK"}
    prompt = await client.post(
        f"{base}/tencent/voice", json={"voiceprompt_callback": {"callid": "never", "result": "1"}}
    )
    assert prompt.status_code == 200
    # An Alibaba call answered with another key: answered, not an acknowledgement.
    ref = await phone_alerts.send_voice("aliyun", PHONE, _info(22))
    await phone_alerts.record_accepted(22, "aliyun", "voice", ref)
    report = [{"call_id": ref, "status_code": "300000", "dtmf": "2", "out_id": "22"}]
    assert (await client.post(f"{base}/aliyun/voice", json=report)).status_code == 200
    async with session_scope() as s:
        rows = (await s.execute(select(PhoneReceipt).order_by(PhoneReceipt.id))).scalars().all()
        assert [(r.ref, r.state, r.detail) for r in rows] == [
            (sent.ref, "delivered", "DELIVERED"),
            (ref, "answered", "300000"),
        ]
    # The call's final report: not answered (Alibaba's code, data/escalation/phone_alerts.yaml).
    report = [{"call_id": ref, "status_code": "200003", "out_id": "22"}]
    assert (await client.post(f"{base}/aliyun/voice", json=report)).status_code == 200
    tencent_ref = await phone_alerts.send_voice("tencent", PHONE, _info(23))
    await phone_alerts.record_accepted(23, "tencent", "voice", tencent_ref)
    failure = {"voice_failure_callback": {"callid": tencent_ref, "failure_code": 8}}
    assert (await client.post(f"{base}/tencent/voice", json=failure)).status_code == 200
    async with session_scope() as s:
        rows = (await s.execute(select(PhoneReceipt).order_by(PhoneReceipt.id))).scalars().all()
        assert [(r.ref, r.state, r.detail) for r in rows][1:] == [
            (ref, "unanswered", "200003"),
            (tencent_ref, "failed", "failure_8"),
        ]


async def test_a_call_nobody_answers_is_not_a_delivery(
    wired: dict,
    clock,  # noqa: ANN001
    clouds,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13's rules for a call the cloud accepted but nobody answered: the alert is not
    delivered, so the person's next channel goes out and the call is made again later."""
    aliyun, tencent = clouds
    monkeypatch.setattr(phone_receipts, "utcnow", clock)  # receipts arrive on the test's clock
    async with session_scope() as s:
        duty = (
            await s.execute(select(StaffUser).where(StaffUser.username == "duty.a"))
        ).scalar_one()
        duty.phone = PHONE
        s.add(AlertProfile(staff_id=duty.id, channels=["voice", "sms"]))
        policy = (
            await s.execute(select(EscalationPolicy).where(EscalationPolicy.name == "一中紧急升级"))
        ).scalar_one()  # one channel after another, not all at once
        policy.steps = [{**policy.steps[0], "all_channels": False}, *policy.steps[1:]]
    case_id = await _submit()
    worker = Worker(clock)
    await worker.drain()
    (first,) = tencent.accepted("SendTtsVoice")
    assert aliyun.accepted("SendSms") == []  # the call counted as reaching duty.a

    async def duty_a(channel: str) -> Delivery:
        async with session_scope() as s:
            return (
                await s.execute(
                    select(Delivery).where(
                        Delivery.case_id == case_id,
                        Delivery.channel == channel,
                        Delivery.staff_id == duty.id,
                    )
                )
            ).scalar_one()

    assert (await duty_a("sms")).state == "skipped"
    from assembly.app import create_app

    transport = httpx.ASGITransport(app=create_app())
    base = f"/escalation/phone/{CALLBACK_SECRET}/tencent/voice"
    unanswered = {"voiceprompt_callback": {"callid": first.ref, "result": "1", "mobile": "x"}}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.post(base, json=unanswered)).json() == {"result": 0, "errmsg": "OK"}
        voice = await duty_a("voice")
        assert voice.state == "pending" and voice.last_error == "voice_unanswered"
        assert voice.sent_at is None
        assert (await duty_a("sms")).state == "pending"  # the next channel, at once
        await worker.drain()
        (sms,) = aliyun.accepted("SendSms")
        assert (await duty_a("sms")).state == "sent"
        # Reached by SMS: the call is not repeated (one alert per person and step) ...
        assert (await duty_a("voice")).state == "skipped"
        # ... until the carrier says the SMS did not arrive either: then the call again.
        failed_sms = [{"biz_id": sms.ref, "success": False, "err_code": "MOBILE_NOT_ON"}]
        sms_base = f"/escalation/phone/{CALLBACK_SECRET}/aliyun/sms"
        assert (await client.post(sms_base, json=failed_sms)).status_code == 200
        assert (await duty_a("sms")).last_error == "sms_failed"
        await worker.drain()
        first_again, second = tencent.accepted("SendTtsVoice")
        assert first_again.ref == first.ref and (await duty_a("voice")).state == "sent"
        # A late copy of the first call's receipt says nothing about the second call.
        assert (await client.post(base, json=unanswered)).status_code == 200
        assert (await duty_a("voice")).state == "sent"
        answered = {"voiceprompt_callback": {"callid": second.ref, "result": "0"}}
        assert (await client.post(base, json=answered)).status_code == 200
        assert (await duty_a("voice")).state == "sent"
        # Reached by the second call: the SMS's retry is no longer needed.
        assert (await duty_a("sms")).state == "skipped"

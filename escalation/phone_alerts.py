"""SMS and voice alerts to duty officers through Alibaba Cloud and Tencent Cloud.

Two notifiers, kinds `sms` and `voice`, registered in escalation.notifier. Which cloud pages
a person is chosen by their district (data/escalation/phone_alerts.yaml). The requests are the
clouds' documented signed HTTP calls (escalation/cloud_signing.py):
- SMS: Alibaba `SendSms` (dysmsapi 2017-05-25), Tencent `SendSms` (sms 2021-01-11);
- voice: Alibaba `IvrCall` (dyvmsapi 2017-05-25: a TTS template, then a key menu, so that a
  key press acknowledges), Tencent `SendTtsVoice` (vms 2020-09-02; its key-press callback
  `voicekey_callback` acknowledges).
A message carries the case number, the urgency and (SMS) the acknowledgement link: no name,
no text. The phone number comes from the staff member's encrypted profile and is neither
logged nor kept anywhere else. What the cloud accepted is recorded (its BizId / SerialNo /
CallId) so that its delivery receipts can be matched (escalation/phone_receipts.py).
A failure raises NotifyError; the delivery core retries it with its backoff.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import httpx
from sqlalchemy import select

from escalation import cloud_signing
from escalation.notifier import Contact, Notice, NotifyError, Target, register
from escalation.phone_models import PhoneReceipt, ReceiptState
from helpline.datafiles import data_yaml
from helpline.db import session_scope, utcnow
from helpline.settings import get_settings
from triage.models import Organisation, OrgKind, StaffUser

TIMEOUT_SECONDS = 10.0
_DIGITS = re.compile(r"[^\d+]")


def config() -> dict[str, Any]:
    return data_yaml("escalation", "phone_alerts.yaml")


def provider_for(district: str | None, kind: str) -> str:
    table = config()["districts"]
    chosen = (table.get(district or "") or {}).get(kind) or table["default"][kind]
    return str(chosen)


def configured(provider: str) -> bool:
    conf = get_settings()
    if provider == "aliyun":
        return bool(conf.aliyun_access_key_id and conf.aliyun_access_key_secret)
    if provider == "tencent":
        return bool(conf.tencent_secret_id and conf.tencent_secret_key)
    return False


def national(phone: str) -> str:
    """A mainland number without +86 (Alibaba), digits only."""
    digits = _DIGITS.sub("", phone)
    return digits[3:] if digits.startswith("+86") else digits.lstrip("+")


def e164(phone: str) -> str:
    """+86… (Tencent)."""
    digits = _DIGITS.sub("", phone)
    return digits if digits.startswith("+") else f"+86{digits}"


async def district_of(staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    async with session_scope() as session:
        staff = await session.get(StaffUser, staff_id)
        if staff is None:
            return None
        org = staff.org
        if org.kind != OrgKind.district and org.parent_id is not None:
            parent = await session.get(Organisation, org.parent_id)
            return parent.code if parent is not None else None
        return org.code


# -- HTTP ------------------------------------------------------------------------------------
async def _post(
    url: str,
    *,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            response = await http.post(url, data=data, content=content, headers=headers)
    except httpx.TimeoutException as exc:
        # The request may have been taken: the next attempt is a possible duplicate.
        raise NotifyError(f"http_{type(exc).__name__}", ambiguous=True) from exc
    except httpx.HTTPError as exc:
        raise NotifyError(f"http_{type(exc).__name__}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code >= 500 or not isinstance(answer, dict):
        raise NotifyError(f"http_status_{response.status_code}")
    return answer


async def _aliyun(
    endpoint: str, action: str, version: str, params: dict[str, str]
) -> dict[str, Any]:
    conf = get_settings()
    assert conf.aliyun_access_key_id and conf.aliyun_access_key_secret
    signed = cloud_signing.aliyun_signed(
        action,
        version,
        conf.aliyun_access_key_id,
        conf.aliyun_access_key_secret.get_secret_value(),
        params,
        str(config()["providers"]["aliyun"]["region"]),
    )
    answer = await _post(endpoint.rstrip("/") + "/", data=signed)
    if answer.get("Code") != "OK":
        raise NotifyError(f"aliyun_{action}_{answer.get('Code', 'no_code')}"[:64])
    return answer


async def _tencent(
    endpoint: str, service: str, action: str, version: str, payload: dict[str, Any]
) -> dict[str, Any]:
    conf = get_settings()
    assert conf.tencent_secret_id and conf.tencent_secret_key
    body = json.dumps(payload, ensure_ascii=False).encode()
    host = urllib.parse.urlsplit(endpoint).netloc
    headers = cloud_signing.tc3_headers(
        conf.tencent_secret_id,
        conf.tencent_secret_key.get_secret_value(),
        service,
        host,
        action,
        version,
        str(config()["providers"]["tencent"]["region"]),
        body,
    )
    answer = (await _post(endpoint.rstrip("/") + "/", content=body, headers=headers)).get(
        "Response"
    )
    if not isinstance(answer, dict):
        raise NotifyError(f"tencent_{action}_bad_answer")
    if "Error" in answer:
        code = str((answer.get("Error") or {}).get("Code", "error"))
        raise NotifyError(f"tencent_{action}_{code}"[:64])
    return answer


# -- the two kinds of message ---------------------------------------------------------------
def _sms_fields(notice: Notice) -> dict[str, str]:
    fields = notice.fields
    return {"number": fields["number"], "urgency": fields["urgency"], "link": fields["ack_link"]}


async def send_sms(provider: str, phone: str, notice: Notice) -> str:
    """One alert SMS; returns the cloud's id of the message (for its delivery receipt)."""
    conf, provider_conf = get_settings(), config()["providers"][provider]["sms"]
    fields = _sms_fields(notice)
    if provider == "aliyun":
        params = {
            "PhoneNumbers": national(phone),
            "SignName": str(provider_conf["sign_name"]),
            "TemplateCode": str(provider_conf["template_code"]),
            "TemplateParam": json.dumps(fields, ensure_ascii=False),
            "OutId": str(notice.alert_id),
        }
        answer = await _aliyun(
            conf.aliyun_sms_endpoint, "SendSms", provider_conf["version"], params
        )
        return str(answer.get("BizId", ""))
    payload = {
        "PhoneNumberSet": [e164(phone)],
        "SmsSdkAppId": str(provider_conf["sdk_app_id"]),
        "SignName": str(provider_conf["sign_name"]),
        "TemplateId": str(provider_conf["template_id"]),
        "TemplateParamSet": [fields["number"], fields["urgency"], fields["link"]],
        "SessionContext": str(notice.alert_id),
    }
    answer = await _tencent(
        conf.tencent_sms_endpoint, "sms", "SendSms", provider_conf["version"], payload
    )
    statuses = answer.get("SendStatusSet") or [{}]
    if statuses[0].get("Code") != "Ok":
        raise NotifyError(f"tencent_sms_{statuses[0].get('Code', 'no_status')}"[:64])
    return str(statuses[0].get("SerialNo", ""))


async def send_voice(provider: str, phone: str, notice: Notice) -> str:
    """One alert call reading a short fixed message; returns the cloud's call id."""
    conf, provider_conf = get_settings(), config()["providers"][provider]["voice"]
    spoken = {"number": notice.fields["number"], "urgency": notice.fields["urgency"]}
    if provider == "aliyun":
        params = {
            "CalledShowNumber": str(provider_conf["called_show_number"]),
            "CalledNumber": national(phone),
            "StartCode": str(provider_conf["start_code"]),
            "StartTtsParams": json.dumps(spoken, ensure_ascii=False),
            "MenuKeyMap.1.Key": str(config()["ack_key"]),
            "MenuKeyMap.1.Code": str(provider_conf["ack_code"]),
            "PlayTimes": str(provider_conf["play_times"]),
            "Timeout": str(provider_conf["timeout_ms"]),
            "OutId": str(notice.alert_id),
        }
        answer = await _aliyun(
            conf.aliyun_voice_endpoint, "IvrCall", provider_conf["version"], params
        )
        return str(answer.get("CallId", ""))
    payload = {
        "TemplateId": str(provider_conf["template_id"]),
        "TemplateParamSet": [spoken["number"], spoken["urgency"]],
        "CalledNumber": e164(phone),
        "VoiceSdkAppid": str(provider_conf["voice_sdk_app_id"]),
        "PlayTimes": int(provider_conf["play_times"]),
        "SessionContext": str(notice.alert_id),
    }
    answer = await _tencent(
        conf.tencent_voice_endpoint, "vms", "SendTtsVoice", provider_conf["version"], payload
    )
    call_id = (answer.get("SendStatus") or {}).get("CallId")
    if not call_id:
        raise NotifyError("tencent_voice_no_call_id")
    return str(call_id)


async def record_accepted(alert_id: int, provider: str, kind: str, ref: str) -> None:
    """Keep the cloud's id of what it accepted, to match its receipts (no phone number)."""
    async with session_scope() as session:
        found = (
            await session.execute(
                select(PhoneReceipt).where(
                    PhoneReceipt.provider == provider, PhoneReceipt.ref == ref
                )
            )
        ).scalar_one_or_none()
        if found is None:
            now = utcnow()
            session.add(
                PhoneReceipt(
                    delivery_id=alert_id,
                    provider=provider,
                    kind=kind,
                    ref=ref[:128],
                    state=ReceiptState.accepted,
                    created_at=now,
                    updated_at=now,
                )
            )


class _PhoneNotifier:
    personal = True  # reaches a person through the phone number in their profile
    group = False
    kind = ""

    def ready(self) -> bool:
        return configured("aliyun") or configured("tencent")

    def address(self, contact: Contact) -> str | None:
        return contact.phone or None

    async def send(self, target: Target, notice: Notice) -> None:
        # The clouds' templates are an alert's (case number, urgency, acknowledgement link).
        if notice.alert_id is None:
            raise NotifyError(f"{self.kind}_alerts_only")
        provider = provider_for(await district_of(target.staff_id), self.kind)
        if not configured(provider):
            raise NotifyError(f"{provider}_not_configured")
        sender = send_sms if self.kind == "sms" else send_voice
        ref = await sender(provider, target.address, notice)
        alert_id = notice.alert_id
        await record_accepted(alert_id, provider, self.kind, ref or f"alert-{alert_id}")


class SmsNotifier(_PhoneNotifier):
    kind = "sms"


class VoiceNotifier(_PhoneNotifier):
    kind = "voice"


register(SmsNotifier())
register(VoiceNotifier())

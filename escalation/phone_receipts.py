"""Delivery receipts of the SMS and voice clouds, and a key press as an acknowledgement.

The clouds push their receipts by HTTP (Alibaba: the "HTTP batch push" of SmsReport and of
VoiceCallReport, a JSON array; Tencent: the SMS status callback, a JSON array, and the voice
callbacks `voiceprompt_callback` / `voicekey_callback`). These pushes are not signed, so the
URLs carry a secret (HELPLINE_PHONE_CALLBACK_SECRET; without it the routes do not exist:
404), and a receipt only ever changes a record of a message the cloud accepted from us
(matched by its id), never anything else. The ack key pressed during a call acknowledges
that alert like its link would ("via voice"). A call not answered or an SMS not delivered
(the newest receipt of its alert) makes the alert a failure of delivery again, retried by the
delivery rules (escalation.outcomes.not_reached). No phone number from a receipt is kept.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, outcomes
from escalation.phone_alerts import config
from escalation.phone_models import PhoneReceipt, ReceiptState
from helpline.db import session_scope, utcnow
from helpline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/escalation/phone")
MAX_RECEIPT_BYTES = 262_144
ALIYUN_OK = {"code": 0, "msg": "成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}
# The alert did not reach its person after all.
NOT_REACHED = (ReceiptState.failed, ReceiptState.unanswered)


def _secret_ok(given: str) -> bool:
    secret = get_settings().phone_callback_secret
    return secret is not None and hmac.compare_digest(
        given.encode(), secret.get_secret_value().encode()
    )


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_RECEIPT_BYTES:
        raise ValueError("too large")
    return json.loads(raw)


async def _update(
    session: AsyncSession, provider: str, ref: str, state: str, detail: str | None = None
) -> PhoneReceipt | None:
    found = (
        await session.execute(
            select(PhoneReceipt).where(PhoneReceipt.provider == provider, PhoneReceipt.ref == ref)
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    # An acknowledgement is final; a late "answered" must not overwrite it.
    if found.state != ReceiptState.acknowledged:
        found.state = state
    found.detail = (detail or "")[:64] or None
    found.updated_at = utcnow()
    if found.state in NOT_REACHED and await _newest(session, found):
        await outcomes.not_reached(
            session, found.delivery_id, utcnow(), f"{found.kind}_{found.state}"
        )
    return found


async def _newest(session: AsyncSession, receipt: PhoneReceipt) -> bool:
    """A late receipt of an earlier attempt says nothing about the alert's latest one."""
    latest = (
        await session.execute(
            select(PhoneReceipt.id)
            .where(PhoneReceipt.delivery_id == receipt.delivery_id)
            .order_by(PhoneReceipt.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return latest == receipt.id


async def _acknowledge(session: AsyncSession, receipt: PhoneReceipt | None, key: str) -> None:
    if receipt is None or key.strip() != str(config()["ack_key"]):
        return
    result = await ack.acknowledge_token(
        session, ack.callback_data(receipt.delivery_id), via="voice"
    )
    receipt.state = ReceiptState.acknowledged
    log.info(
        "alert acknowledged by key press", extra={"alert_id": receipt.delivery_id, "result": result}
    )


def _refused(status: int, provider: str) -> JSONResponse:
    body = (
        {"code": 1, "msg": "refused"}
        if provider == "aliyun"
        else {"result": 1, "errmsg": "refused"}
    )
    return JSONResponse(body, status_code=status)


@router.post("/{secret}/{provider}/{kind}", include_in_schema=False)
async def receipt(request: Request, secret: str, provider: str, kind: str) -> JSONResponse:
    if (
        not _secret_ok(secret)
        or provider not in ("aliyun", "tencent")
        or kind not in ("sms", "voice")
    ):
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    try:
        data = await _body(request)
    except ValueError:
        return _refused(400, provider)
    try:
        async with session_scope() as session:
            matched = await _apply(session, provider, kind, data)
    except (KeyError, TypeError, AttributeError, ValueError):
        return _refused(400, provider)
    log.info("phone receipts", extra={"provider": provider, "kind": kind, "matched": matched})
    return JSONResponse(ALIYUN_OK if provider == "aliyun" else TENCENT_OK)


async def _apply(session: AsyncSession, provider: str, kind: str, data: Any) -> int:
    matched = 0
    if provider == "aliyun":
        for item in data if isinstance(data, list) else [data]:
            if kind == "sms":
                state = (
                    ReceiptState.delivered
                    if item.get("success") in (True, "true")
                    else ReceiptState.failed
                )
                found = await _update(
                    session, "aliyun", str(item["biz_id"]), state, item.get("err_code")
                )
            else:
                status = str(item.get("status_code", ""))
                state = str(config()["aliyun_call_not_reached"].get(status, ReceiptState.answered))
                found = await _update(session, "aliyun", str(item["call_id"]), state, status)
                if item.get("dtmf"):
                    await _acknowledge(session, found, str(item["dtmf"]))
            matched += found is not None
        return matched
    if kind == "sms":
        for item in data:
            state = (
                ReceiptState.delivered
                if item.get("report_status") == "SUCCESS"
                else ReceiptState.failed
            )
            found = await _update(session, "tencent", str(item["sid"]), state, item.get("errmsg"))
            matched += found is not None
        return matched
    if "voicekey_callback" in data:
        item = data["voicekey_callback"]
        found = await _update(session, "tencent", str(item["callid"]), ReceiptState.answered, "key")
        await _acknowledge(session, found, str(item.get("keypress", "")))
        return int(found is not None)
    if "voice_failure_callback" in data:
        item = data["voice_failure_callback"]
        code = f"failure_{item.get('failure_code', '')}"
        found = await _update(session, "tencent", str(item["callid"]), ReceiptState.failed, code)
        return int(found is not None)
    item = data["voiceprompt_callback"]
    result = str(item.get("result", ""))
    state = {"0": ReceiptState.answered, "1": ReceiptState.unanswered}.get(
        result, ReceiptState.failed
    )
    found = await _update(session, "tencent", str(item["callid"]), state, f"result_{result}")
    return int(found is not None)

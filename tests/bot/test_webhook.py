"""Webhook mode: the secret token, and bad updates answered clearly with nothing half-written."""

from __future__ import annotations

import json

import httpx

from bot import texts
from tests.bot.conftest import WEBHOOK_SECRET, RunningBot, counts

HEADER = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


async def _post(
    client: httpx.AsyncClient, body: object, raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return await client.post(
        "/telegram/webhook",
        content=content,
        headers={**HEADER, "content-type": "application/json"},
    )


async def test_webhook_is_registered_with_the_secret(webhook_bot: RunningBot) -> None:
    (call,) = webhook_bot.api.calls("setWebhook")
    assert call.params["url"] == "http://testserver/telegram/webhook"
    assert call.params["secret_token"] == WEBHOOK_SECRET


async def test_secret_token_is_checked(client: httpx.AsyncClient, webhook_bot: RunningBot) -> None:
    api = webhook_bot.api
    update = {"update_id": api.new_update_id(), **api.text_update(6001, "有人打我")}
    before = await counts()
    missing = await client.post("/telegram/webhook", json=update)
    wrong = await client.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
    )
    assert missing.status_code == wrong.status_code == 403
    assert await counts() == before and not api.calls("sendMessage")


async def test_message_through_the_webhook(
    client: httpx.AsyncClient, webhook_bot: RunningBot
) -> None:
    api = webhook_bot.api
    update = {"update_id": api.new_update_id(), **api.text_update(6002, "我今晚就从楼顶跳下去")}
    response = await _post(client, update)
    assert response.status_code == 200 and response.json() == {"ok": True}
    # Processed before the answer: by now it is stored and the reporter has been told.
    (reply,) = api.calls("sendMessage", 6002)
    assert reply.text.startswith(texts.text("emergency_first"))
    assert (await counts())["Case"] == 1


async def test_bad_updates_are_refused_cleanly(
    client: httpx.AsyncClient, webhook_bot: RunningBot
) -> None:
    api = webhook_bot.api
    before = await counts()
    bad_bodies = [
        b"{not json",
        bytes(range(256)) * 8,  # binary junk
        b"[1, 2, 3]",
        b'"just a string"',
        json.dumps({"message": {"text": "no update id"}}).encode(),
        json.dumps({"update_id": "x", "message": "junk"}).encode(),
        json.dumps({"update_id": 1, "message": {"message_id": "?", "chat": 5}}).encode(),
    ]
    for body in bad_bodies:
        response = await _post(client, None, raw=body)
        assert response.status_code == 400, body[:40]
        assert response.json() == {"ok": False, "error": "malformed update"}
    too_big = await _post(client, None, raw=b" " * 1_000_001)
    assert too_big.status_code == 413

    # Well-formed but unusual: answered (200, Telegram must not retry) and nothing stored.
    reaction = {
        "chat": {"id": 6007, "type": "private"},
        "message_id": 3,
        "date": 1,
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}],
    }
    unknown_kind = {"update_id": api.new_update_id(), "message_reaction": reaction}
    future_kind = {"update_id": api.new_update_id(), "something_new": {"x": 1}}
    huge = {"update_id": api.new_update_id(), **api.text_update(6003, "救" * 100_000)}
    junk_text = {
        "update_id": api.new_update_id(),
        **api.text_update(6004, "\x00\x01\x02\u200b\x7f"),
    }
    group = {
        "update_id": api.new_update_id(),
        **api.text_update(-1006005, "我被欺负了", chat_type="group"),
    }
    channel_post = {
        "update_id": api.new_update_id(),
        "channel_post": {
            "message_id": 1,
            "chat": {"id": -1009, "type": "channel", "title": "c"},
            "date": 1,
            "text": "hello",
        },
    }
    for update in (unknown_kind, future_kind, huge, junk_text, group, channel_post):
        response = await _post(client, update)
        assert response.status_code == 200, update
    assert api.calls("sendMessage", 6003)[0].text == texts.text("too_long", limit=5000)
    assert api.calls("sendMessage", 6004)[0].text == texts.text("empty")
    assert api.calls("sendMessage", -1006005)[0].text == texts.text("group_refusal")
    assert not api.calls("sendMessage", -1009)
    assert await counts() == before

    # The bot still works after all that.
    fine = {"update_id": api.new_update_id(), **api.text_update(6006, "同学一直骂我")}
    assert (await _post(client, fine)).status_code == 200
    assert (await counts())["Message"] == before["Message"] + 1


async def test_staff_acknowledge_button(client: httpx.AsyncClient, webhook_bot: RunningBot) -> None:
    api = webhook_bot.api
    forged = {
        "update_id": api.new_update_id(),
        **api.callback_update(7001, "ack:12:0123456789abcdef"),
    }
    assert (await _post(client, forged)).status_code == 200
    (answer,) = api.calls("answerCallbackQuery")
    assert answer.params["text"] == texts.text("ack_failed")


async def test_duty_officer_acknowledges_through_the_button(
    client: httpx.AsyncClient, webhook_bot: RunningBot
) -> None:
    """The alert button ("ack:<alert>:<mac>") stops the escalation chain of an emergency case."""
    from sqlalchemy import select

    from escalation.ack import callback_data
    from escalation.models import Delivery, Escalation
    from helpline.db import session_scope, utcnow
    from triage.models import StaffUser

    api = webhook_bot.api
    update = {"update_id": api.new_update_id(), **api.text_update(7101, "我今晚就从楼顶跳下去")}
    assert (await _post(client, update)).status_code == 200
    async with session_scope() as s:
        chain = (await s.execute(select(Escalation))).scalar_one()
        assert chain.state == "active"
        duty = (
            await s.execute(select(StaffUser).where(StaffUser.username == "duty.district"))
        ).scalar_one()
        # The alert the escalation worker would have sent to the duty officer's Telegram.
        alert = Delivery(
            escalation_id=chain.id,
            case_id=chain.case_id,
            round=1,
            step=0,
            channel="telegram",
            staff_id=duty.id,
            state="sent",
            due_at=utcnow(),
        )
        s.add(alert)
        await s.flush()
        data = callback_data(alert.id)
    press = {"update_id": api.new_update_id(), **api.callback_update(7102, data)}
    assert (await _post(client, press)).status_code == 200
    (answer,) = api.calls("answerCallbackQuery")
    assert answer.params["text"] == texts.text("ack_done")
    async with session_scope() as s:
        assert (await s.execute(select(Escalation))).scalar_one().state != "active"
    again = {"update_id": api.new_update_id(), **api.callback_update(7102, data)}
    assert (await _post(client, again)).status_code == 200
    assert api.calls("answerCallbackQuery")[1].params["text"] == texts.text("ack_failed")

"""The real python-telegram-bot against the Bot API stand-in over HTTP (polling mode)."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from sqlalchemy import select, text

from bot import texts
from helpline.crypto import get_keyring
from helpline.db import session_scope
from tests.bot.conftest import RunningBot, counts
from triage.models import Case, Message, Reporter

EMERGENCY = "我今晚就从楼顶跳下去"


async def _reporter_cases(chat_id: int) -> list[Case]:
    pseudonym = get_keyring().pseudonym("telegram", str(chat_id))
    async with session_scope() as s:
        reporter = (
            await s.execute(select(Reporter).where(Reporter.pseudonym == pseudonym))
        ).scalar_one()
        return list(
            (
                await s.execute(
                    select(Case).where(Case.reporter_id == reporter.id).order_by(Case.id)
                )
            ).scalars()
        )


async def _messages(case_id: int) -> list[Message]:
    async with session_scope() as s:
        return list(
            (
                await s.execute(
                    select(Message).where(Message.case_id == case_id).order_by(Message.id)
                )
            ).scalars()
        )


async def test_emergency_reply_under_one_second(polling_bot: RunningBot) -> None:
    api = polling_bot.api
    started = time.monotonic()
    api.push_update(api.text_update(4242, EMERGENCY))
    (reply,) = await polling_bot.wait_for("sendMessage", 4242)
    elapsed = reply.at - started
    print(f"\nemergency reply through the stand-in: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, f"emergency reply took {elapsed:.3f}s"
    # 110/120 and the 24-hour lines come first, then "a duty officer has been alerted".
    assert reply.text.startswith(texts.text("emergency_first"))
    for number in ("110", "120", "400-161-9995", "010-82951332"):
        assert number in reply.text
    assert reply.text.index("400-161-9995") < reply.text.index("值班老师已经收到提醒")
    (case,) = await _reporter_cases(4242)
    assert case.urgency == "emergency" and case.channel == "telegram"
    assert "crisis" in case.labels


async def test_full_conversation(polling_bot: RunningBot) -> None:
    api, chat = polling_bot.api, 1001
    api.push_update(api.text_update(chat, "/start"))
    welcome, ask = await polling_bot.wait_for("sendMessage", chat, count=2)
    assert "匿名" in welcome.text and "不能替你保密" in welcome.text
    assert [b["callback_data"] for b in ask.buttons()] == [
        "kind:student",
        "kind:parent",
        "kind:other",
    ]
    api.push_update(api.callback_update(chat, "kind:student"))
    await polling_bot.wait_for("answerCallbackQuery")
    thanks = (await polling_bot.wait_for("sendMessage", chat, count=3))[2]
    assert thanks.text == texts.text("kind_thanks.student")

    opening = api.text_update(chat, "班上有几个男生天天打我，还抢我的零花钱")
    api.push_update(opening)
    first = (await polling_bot.wait_for("sendMessage", chat, count=4))[3].text
    assert texts.text("received.harm") in first
    # The missing elements are asked gently, one per answer, each once, in this order.
    answers = ["上周五放学以后", "在学校后门的小巷子里", "是初二的三个男生", "嗯", "好的"]
    replies = [first] + [await polling_bot.say(chat, answer) for answer in answers]
    questions = [texts.text(f"questions.{key}") for key in ("time", "place", "people")]
    asked = [q for reply in replies for q in questions if q in reply]
    # (an element the reporter already gave, e.g. who, is not asked for)
    assert asked[0] == questions[0] and len(asked) >= 2
    assert asked == [q for q in questions if q in asked]  # in order, each once
    assert all(sum(q in reply for q in questions) <= 1 for reply in replies)

    (case,) = await _reporter_cases(chat)
    assert "bullying" in case.labels and case.channel == "telegram"
    messages = await _messages(case.id)
    assert [m.text for m in messages] == ["班上有几个男生天天打我，还抢我的零花钱", *answers]
    async with session_scope() as s:
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.kind == "student"

    status = await polling_bot.say(chat, "/status")
    assert case.number in status and texts.text("status_no_reply") in status

    # A counsellor replies in the console: the delivery loop brings it to this chat.
    from triage.outbox import queue_reply

    async with session_scope() as s:
        live = await s.get(Case, case.id)
        assert live is not None
        await queue_reply(s, live, None, "我是王老师，谢谢你告诉我。明天课间来心理室找我好吗？")
    (delivered,) = await polling_bot.wait_for("sendMessage", chat, contains="王老师")
    assert delivered.text.startswith("老师回复：")
    for _ in range(100):
        if all(m.delivered_at for m in await _messages(case.id) if m.direction == "out"):
            break
        await asyncio.sleep(0.05)
    out = [m for m in await _messages(case.id) if m.direction == "out"]
    assert len(out) == 1 and out[0].delivered_at is not None
    status = await polling_bot.say(chat, "/status")
    assert "明天课间来心理室找我好吗" in status

    # /new opens a separate case for the next message.
    assert await polling_bot.say(chat, "/new") == texts.text("new_case")
    await polling_bot.say(chat, "网上有人说能帮我充游戏币，让我先转账")
    cases = await _reporter_cases(chat)
    assert len(cases) == 2 and "fraud" in cases[1].labels

    # An edit updates the stored message, and raises the case when it reveals danger.
    first_id = messages[0]
    edited = api.edited_update(chat, opening["message"]["message_id"], EMERGENCY)
    before = len(api.calls("sendMessage", chat))
    api.push_update(edited)
    reply = (await polling_bot.wait_for("sendMessage", chat, count=before + 1))[before]
    assert texts.text("edited") in reply.text and "110" in reply.text
    stored = [m for m in await _messages(case.id) if m.id == first_id.id][0]
    assert stored.text == EMERGENCY and stored.edited_at is not None
    (first_case, _) = await _reporter_cases(chat)
    assert first_case.urgency == "emergency"


async def test_blocked_chat_does_not_break_others(polling_bot: RunningBot) -> None:
    api = polling_bot.api
    api.block_chat(2001)
    api.push_update(api.text_update(2001, "同学一直骂我，还把我的书扔了"))
    api.push_update(api.text_update(2002, "我被同学孤立了，很难受"))
    await polling_bot.wait_for("sendMessage", 2002)
    await polling_bot.wait_for("sendMessage", 2001)  # attempted (403)
    (blocked_case,) = await _reporter_cases(2001)
    for _ in range(100):
        async with session_scope() as s:
            reporter = await s.get(Reporter, blocked_case.reporter_id)
            if reporter is not None and reporter.blocked:
                break
        await asyncio.sleep(0.05)
    assert reporter is not None and reporter.blocked
    # The message itself was kept: the case exists and is worked on whatever the chat does.
    assert [m.text for m in await _messages(blocked_case.id)] == ["同学一直骂我，还把我的书扔了"]
    # Replies to the blocked reporter are not attempted; the other reporter still gets theirs.
    from triage.outbox import queue_reply

    (other_case,) = await _reporter_cases(2002)
    async with session_scope() as s:
        for case_id in (blocked_case.id, other_case.id):
            live = await s.get(Case, case_id)
            assert live is not None
            await queue_reply(s, live, None, f"老师的回复 {case_id}")
    await polling_bot.wait_for("sendMessage", 2002, contains=f"老师的回复 {other_case.id}")
    assert not api.calls("sendMessage", 2001)[1:]


async def test_files_stickers_and_unsupported(polling_bot: RunningBot) -> None:
    api, chat = polling_bot.api, 3001
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    api.add_file("photo-1", photo)
    # A file before any message: answered, not stored.
    api.push_update(api.photo_update(chat, "photo-1", len(photo)))
    (answer,) = await polling_bot.wait_for("sendMessage", chat)
    assert answer.text == texts.text("attachment_no_case")
    await polling_bot.say(chat, "我被网上的人骗了八百块钱，下面是转账截图")
    api.push_update(api.photo_update(chat, "photo-1", len(photo)))
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("attachment_stored"))
    from bot import attachments

    (case,) = await _reporter_cases(chat)
    async with session_scope() as s:
        (stored,) = await attachments.for_case(s, case.id)
        assert attachments.content_of(stored) == photo and stored.kind == "photo"
        raw = (
            await s.execute(
                text("SELECT content FROM bot_attachments WHERE id = :id"), {"id": stored.id}
            )
        ).scalar_one()
    assert raw.startswith("enc1:") and base64.b64encode(photo[:60]).decode() not in raw

    big = 6 * 1024 * 1024
    api.push_update(api.photo_update(chat, "photo-big", big))
    await polling_bot.wait_for("sendMessage", chat, contains="太大")
    api.push_update(api.sticker_update(chat))
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("sticker"))
    api.push_update({"message": api.message(chat, location={"latitude": 31.2, "longitude": 121.4})})
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("not_supported"))
    async with session_scope() as s:
        assert len(await attachments.for_case(s, case.id)) == 1


async def test_no_body_images_in_sexual_abuse_case(polling_bot: RunningBot) -> None:
    api, chat = polling_bot.api, 3101
    api.add_file("photo-2", b"\xff\xd8\xff" + b"x" * 100)
    await polling_bot.say(chat, "我们班主任经常摸我的隐私部位，还不让我告诉别人")
    (case,) = await _reporter_cases(chat)
    assert case.restricted or "sexual_abuse" in case.labels
    api.push_update(api.photo_update(chat, "photo-2", 103))
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("attachment_restricted"))
    from bot import attachments

    async with session_scope() as s:
        assert await attachments.for_case(s, case.id) == []


async def test_flood_is_stopped_per_chat(
    polling_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = dict(texts.limits())
    limits["telegram_messages"] = {"limit": 3, "window_seconds": 600}
    monkeypatch.setattr(texts, "limits", lambda: limits)
    api = polling_bot.api
    for n in range(6):
        api.push_update(api.text_update(5001, f"第{n}条：有人在网上骂我"))
    api.push_update(api.text_update(5002, "另一个同学：我被骗了五百块"))
    await polling_bot.wait_for("sendMessage", 5002)
    replies = await polling_bot.wait_for("sendMessage", 5001, count=4)
    await asyncio.sleep(0.3)
    replies = api.calls("sendMessage", 5001)
    assert sum(texts.text("flood") == r.text for r in replies) == 1  # told once, not 3 times
    (case,) = await _reporter_cases(5001)
    assert len(await _messages(case.id)) == 3
    assert len(await _reporter_cases(5002)) == 1  # another chat is not affected


async def test_group_chats_are_refused(polling_bot: RunningBot) -> None:
    api = polling_bot.api
    before = await counts()
    api.push_update(api.text_update(-100777, "大家好，我被欺负了", chat_type="supergroup"))
    (refusal,) = await polling_bot.wait_for("sendMessage", -100777)
    assert refusal.text == texts.text("group_refusal")
    assert await counts() == before

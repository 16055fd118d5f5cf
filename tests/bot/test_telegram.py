"""The real python-telegram-bot against the Bot API stand-in over HTTP (polling mode)."""

from __future__ import annotations

import asyncio
import base64

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


async def test_emergency_reply(polling_bot: RunningBot) -> None:
    # How fast it comes (under 1 s, also on a loaded system): benchmarks/intake.py measures it.
    api = polling_bot.api
    api.push_update(api.text_update(4242, EMERGENCY))
    (reply,) = await polling_bot.wait_for("sendMessage", 4242)
    # 110/120 and the 24-hour lines come first, then "a duty officer has been alerted".
    assert reply.text.startswith(texts.text("emergency_first"))
    for number in ("110", "120", "400-161-9995", "010-82951332"):
        assert number in reply.text
    assert reply.text.index("400-161-9995") < reply.text.index("值班老师已经收到提醒")
    assert "12355" not in reply.text  # office hours only: not listed as a 24-hour line
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


async def test_commands_buttons_and_privacy_before_telling(polling_bot: RunningBot) -> None:
    api, chat = polling_bot.api, 1101
    before = await counts()
    assert await polling_bot.say(chat, "/status") == texts.text("status_none")
    assert await polling_bot.say(chat, "/help") == texts.text("help")
    assert await polling_bot.say(chat, "/whatever") == texts.text("help")  # unknown command
    api.push_update(api.text_update(chat, "/start"))
    welcome, ask = (await polling_bot.wait_for("sendMessage", chat, count=5))[3:5]
    # Who reads it, anonymity, and that the school must report harm, all before any message.
    assert texts.text("privacy") in welcome.text
    assert "心理老师" in welcome.text and "匿名" in welcome.text and "必须报告" in welcome.text
    assert await counts() == before  # commands store nothing
    assert [b["text"] for b in ask.buttons()] == list(texts.mapping("kind_buttons").values())

    api.push_update(api.callback_update(chat, "kind:parent"))
    thanks = (await polling_bot.wait_for("sendMessage", chat, count=6))[5]
    assert thanks.text == texts.text("kind_thanks.parent")
    # A button the bot never offered (forged callback data) is answered and changes nothing.
    api.push_update(api.callback_update(chat, "kind:admin"))
    await polling_bot.wait_for("answerCallbackQuery", count=2)
    await polling_bot.say(chat, "我的孩子在学校被几个同学打了，脸上都是伤")
    (case,) = await _reporter_cases(chat)
    async with session_scope() as s:
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.kind == "parent"
    status = await polling_bot.say(chat, "/status")
    assert case.number in status and texts.text("status_no_reply") in status


async def test_reply_fits_the_category(polling_bot: RunningBot) -> None:
    crisis = await polling_bot.say(1301, "我最近总是很难过，觉得活着没意思，每天都想哭")
    assert texts.text("crisis") in crisis and "400-161-9995" in crisis and "12356" in crisis
    assert texts.text("emergency_first") not in crisis  # not an emergency: no alarm
    fraud = await polling_bot.say(1302, "有人加我QQ说我中奖了，让我先交手续费，我已经转了三百块")
    assert "马上停止转账" in fraud and "不要把验证码" in fraud
    assert "110" in fraud and "96110" in fraud
    assert texts.text("crisis") not in fraud


async def test_edits_are_checked_like_messages(
    polling_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, chat = polling_bot.api, 1201
    first = api.text_update(chat, "同学一直骂我，还把我的书扔了")
    await polling_bot.say(chat, "", update=first)
    (case,) = await _reporter_cases(chat)
    mid = first["message"]["message_id"]
    # Too long: refused with the reason, the stored text stays as it was.
    too_long = await polling_bot.say(chat, "", update=api.edited_update(chat, mid, "救" * 5001))
    assert too_long == texts.text("too_long", limit=5000)
    unknown = await polling_bot.say(chat, "", update=api.edited_update(chat, 99999, "改过的话"))
    assert unknown == texts.text("edited_unknown")
    assert [m.text for m in await _messages(case.id)] == ["同学一直骂我，还把我的书扔了"]

    # A photo's caption is a message; editing the caption updates it.
    api.add_file("photo-e", b"\xff\xd8\xff" + b"e" * 50)
    photo = api.photo_update(chat, "photo-e", 53)
    photo["message"]["caption"] = "这是他们在我桌子上写的字"
    api.push_update(photo)
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("attachment_stored"))
    caption_edit = api.edited_update(
        chat, photo["message"]["message_id"], "这是他们在我桌子上写的骂人的话", field="caption"
    )
    assert texts.text("edited") in await polling_bot.say(chat, "", update=caption_edit)
    texts_now = [m.text for m in await _messages(case.id)]
    assert texts_now == ["同学一直骂我，还把我的书扔了", "这是他们在我桌子上写的骂人的话"]

    # Edits count against the flood limit like messages (each one is analysed again).
    limits = dict(texts.limits())
    limits["telegram_messages"] = {"limit": 2, "window_seconds": 600}
    monkeypatch.setattr(texts, "limits", lambda: limits)
    flooder = 1202
    opening = api.text_update(flooder, "有人在网上骂我")
    await polling_bot.say(flooder, "", update=opening)
    for n in range(3):
        api.push_update(api.edited_update(flooder, opening["message"]["message_id"], f"改{n}"))
    await polling_bot.wait_for("sendMessage", flooder, count=3)
    await asyncio.sleep(0.3)
    replies = [c.text for c in api.calls("sendMessage", flooder)]
    assert texts.text("edited") in replies[1] and replies[2:] == [texts.text("flood")]
    (flooded,) = await _reporter_cases(flooder)
    assert [m.text for m in await _messages(flooded.id)] == ["改0"]


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
    # A voice note shows no body: it is kept (encrypted) with the case.
    api.add_file("voice-1", b"OggS" + b"v" * 200)
    api.push_update(api.voice_update(chat, "voice-1", 204))
    await polling_bot.wait_for("sendMessage", chat, contains=texts.text("attachment_stored"))
    async with session_scope() as s:
        (voice,) = await attachments.for_case(s, case.id)
        assert voice.kind == "voice" and attachments.content_of(voice) == b"OggS" + b"v" * 200


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

"""The WeChat Official Account channel against a stand-in of WeChat over real HTTP.

The stand-in (tests/wechat_standin.py) signs and encrypts its pushes with its own
implementation of WeChat's documented algorithm; the help line decrypts them with wechatpy.
The app runs on a real uvicorn server in the test's event loop, so the test can look into the
database while it serves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text

from bot import attachments, texts, wechat_api
from bot.models import Attachment, Screening, WeChatChat
from escalation.models import Escalation
from helpline.db import session_scope, utcnow
from tests.support.standin import served_here
from tests.wechat_standin import WeChatStandin, decrypt, encrypt
from triage.models import Case, Message, Reporter

CRISIS = "我最近总是很难过，觉得活着没意思，每天都想哭"
OPENID = "oSTANDIN_child_0001"


class Served:
    def __init__(self, url: str, wx: WeChatStandin) -> None:
        self.url, self.wx = url, wx

    async def say(self, openid: str, xml: str, count: int = 1) -> list[str]:
        """Push as the follower; return the next `count` texts the help line sends back."""
        before = len(self.wx.texts_to(openid))
        response = await self.wx.push(self.url, xml, openid)
        assert response.status_code == 200 and response.text == "success", response.text
        sent = await asyncio.to_thread(self.wx.wait_for_texts, openid, before + count)
        return sent[before:]


def _configure(monkeypatch: pytest.MonkeyPatch, wx: WeChatStandin, safe: bool = True) -> None:
    from helpline.settings import reset_settings

    monkeypatch.setenv("HELPLINE_WECHAT_TOKEN", wx.token)
    monkeypatch.setenv("HELPLINE_WECHAT_APPID", wx.appid)
    monkeypatch.setenv("HELPLINE_WECHAT_SECRET", wx.secret)
    monkeypatch.setenv("HELPLINE_WECHAT_API_BASE", wx.api_base)
    if safe:
        monkeypatch.setenv("HELPLINE_WECHAT_AES_KEY", wx.aes_key)
    else:
        monkeypatch.delenv("HELPLINE_WECHAT_AES_KEY", raising=False)
    reset_settings()
    wechat_api.reset()


@pytest_asyncio.fixture
async def served(app: object, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    """The stand-in, the app on uvicorn (this event loop) and the reply delivery loop."""
    from bot.wechat_delivery import delivery_loop
    from helpline.settings import reset_settings

    with WeChatStandin() as wx:
        _configure(monkeypatch, wx)
        delivering = asyncio.create_task(delivery_loop(interval=0.3))
        try:
            async with served_here(app) as url:
                yield Served(url, wx)
        finally:
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)
            wechat_api.reset()
    reset_settings()


async def _cases(openid: str) -> list[Case]:
    from helpline.crypto import get_keyring

    pseudonym = get_keyring().pseudonym("wechat", openid)
    async with session_scope() as s:
        return list(
            (
                await s.execute(
                    select(Case)
                    .join(Reporter, Reporter.id == Case.reporter_id)
                    .where(Reporter.pseudonym == pseudonym)
                    .order_by(Case.id)
                )
            ).scalars()
        )


async def _count(model: type) -> int:
    async with session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def test_standin_crypto_is_wechats_algorithm() -> None:
    """The stand-in's own crypto and wechatpy's agree both ways (and differ from a forgery)."""
    from wechatpy.crypto import WeChatCrypto

    wx = WeChatStandin()
    crypto = WeChatCrypto(wx.token, wx.aes_key, wx.appid)
    xml = wx.text(OPENID, "你好，测试 & <xml>")
    query, body = wx.envelope(xml, OPENID)
    assert (
        crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
        == xml
    )
    reply = crypto.encrypt_message("<xml><Content>回信</Content></xml>", "nonce1", "1700000000")
    encrypted = reply.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert decrypt(wx.aes_key, wx.appid, encrypted) == "<xml><Content>回信</Content></xml>"
    with pytest.raises(ValueError):
        decrypt(wx.aes_key, "wx-someone-else", encrypt(wx.aes_key, wx.appid, xml))


async def test_crisis_conversation_end_to_end(served: Served) -> None:
    wx, url = served.wx, served.url
    verified = await wx.verify_url(url, "echo-2026")
    assert verified.status_code == 200 and verified.text == "echo-2026"

    # Following the account: welcome and privacy notice, nothing stored.
    before = await _count(Message)
    (welcome,) = await served.say(OPENID, wx.event(OPENID, "subscribe"))
    assert texts.text("privacy") in welcome and "必须报告" in welcome
    assert await _count(Message) == before and await _count(Case) == len(await _cases(OPENID))
    (thanks,) = await served.say(OPENID, wx.text(OPENID, "1"))
    assert thanks == texts.text("kind_thanks.student")

    # A crisis message: the safety words first, then the first screening question.
    (reply,) = await served.say(OPENID, wx.text(OPENID, CRISIS))
    assert reply.index(texts.text("crisis")) < reply.index(texts.text("screening.intro"))
    assert "400-161-9995" in reply and "过去一个月里" in reply
    (case,) = await _cases(OPENID)
    assert case.channel == "wechat" and "crisis" in case.labels and case.status == "new"
    async with session_scope() as s:
        chains = (await s.execute(select(Escalation).where(Escalation.case_id == case.id))).all()
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.kind == "student"
    urgency_before = case.urgency
    assert urgency_before != "emergency"

    # Questions one at a time; a skip is fine; intent (question 4) is high risk: emergency.
    (second,) = await served.say(OPENID, wx.text(OPENID, "是"))
    assert second.startswith(texts.text("screening.thanks")) and "真的想过要结束" in second
    (third,) = await served.say(OPENID, wx.text(OPENID, "有"))
    assert "什么方法" in third
    (fourth,) = await served.say(OPENID, wx.text(OPENID, "跳过"))
    assert "打算真的去做" in fourth
    (fifth,) = await served.say(OPENID, wx.text(OPENID, "嗯"))
    assert texts.text("emergency_first") in fifth and "具体怎么做" in fifth
    (case,) = await _cases(OPENID)
    assert case.urgency == "emergency"
    async with session_scope() as s:
        raised = (await s.execute(select(Escalation).where(Escalation.case_id == case.id))).all()
        assert len(raised) > len(chains)  # the raise started a chain for the new urgency
        screening = (
            await s.execute(select(Screening).where(Screening.case_id == case.id))
        ).scalar_one()
        assert screening.risk == "high" and screening.current == "q5"
        assert json.loads(screening.answers) == {
            "q1": "yes",
            "q2": "yes",
            "q3": "skipped",
            "q4": "yes",
        }
        raw = (
            await s.execute(
                text("SELECT answers FROM bot_screenings WHERE id = :i"), {"i": screening.id}
            )
        ).scalar_one()
        assert "q1" not in raw and "yes" not in raw  # encrypted at rest
        # Screening answers are not messages: only the crisis message is on the case.
        inbound = (
            (
                await s.execute(
                    select(Message).where(Message.case_id == case.id, Message.direction == "in")
                )
            )
            .scalars()
            .all()
        )
        assert [m.text for m in inbound] == [CRISIS]

    # The child stops answering. A counsellor replies: delivered back through WeChat.
    from triage.outbox import queue_reply

    async with session_scope() as s:
        live = await s.get(Case, case.id)
        assert live is not None
        await queue_reply(s, live, None, "我是王老师，我在。你现在安全吗？")
    found = await asyncio.to_thread(wx.wait_for_texts, OPENID, 8)
    assert found[-1] == texts.text("counsellor_reply", text="我是王老师，我在。你现在安全吗？")
    for _ in range(100):
        async with session_scope() as s:
            out = (
                await s.execute(
                    select(Message).where(Message.case_id == case.id, Message.direction == "out")
                )
            ).scalar_one()
        if out.delivered_at is not None:
            break
        await asyncio.sleep(0.05)
    assert out.delivered_at is not None
    (status,) = await served.say(OPENID, wx.text(OPENID, "进度"))
    assert case.number in status and "你现在安全吗" in status


async def test_forged_stale_and_replayed_pushes_are_refused(served: Served) -> None:
    wx, url = served.wx, served.url
    before = await _count(Message)
    xml = wx.text(OPENID, CRISIS)

    # A forged signature (someone without the token).
    query, body = wx.envelope(xml, OPENID)
    forged = {**query, "signature": "0" * 40}
    assert (await wx.post(url, forged, body)).status_code == 403
    # A right signature over a body someone changed: msg_signature no longer fits.
    other_query, other_body = wx.envelope(wx.text(OPENID, "别的内容"), OPENID)
    tampered = {**query, "msg_signature": other_query["msg_signature"]}
    assert (await wx.post(url, tampered, body)).status_code == 403
    # Encrypted for another account (its AppID inside).
    stranger = WeChatStandin(token=wx.token, aes_key=wx.aes_key, appid="wx-another-account")
    sq, sb = stranger.envelope(xml, OPENID)
    assert (await wx.post(url, sq, sb)).status_code == 403
    # Plaintext in safe mode, a stale timestamp, junk.
    assert (await wx.push(url, xml, OPENID, encrypted=False)).status_code == 403
    stale = await wx.push(url, xml, OPENID, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 403
    junk_query = wx.signed_query("x")
    assert (await wx.post(url, junk_query, b"\x00\xffnot xml")).status_code == 400
    assert await _count(Message) == before and wx.texts_to(OPENID) == []

    # The genuine push is taken once; the very same request again is a replay: refused.
    assert (await wx.post(url, query, body)).status_code == 200
    # No follow event seen: the privacy notice comes first, then the answer.
    notice, answer = await asyncio.to_thread(wx.wait_for_texts, OPENID, 2)
    assert notice == texts.text("privacy") and texts.text("crisis") in answer
    assert (await wx.post(url, query, body)).status_code == 403
    # WeChat retrying (new timestamp and nonce, same MsgId): "success", nothing twice.
    retry_query, retry_body = wx.envelope(xml, OPENID)
    retried = await wx.post(url, retry_query, retry_body)
    assert retried.status_code == 200 and retried.text == "success"
    await asyncio.sleep(0.5)
    assert await _count(Message) == before + 1
    assert len(wx.texts_to(OPENID)) == 2


async def test_expired_access_token_is_refreshed(served: Served) -> None:
    wx = served.wx
    await served.say("o-token-1", wx.event("o-token-1", "subscribe"))
    assert wx.state.token_requests == 1
    await served.say("o-token-1", wx.text("o-token-1", "你好"))
    assert wx.state.token_requests == 1  # cached, not fetched per message
    wx.expire_tokens()
    (reply,) = await served.say("o-token-1", wx.text("o-token-1", "我在学校被同学欺负了"))
    assert wx.state.token_requests == 2 and "勇气" in reply
    tokens = {s.token for s in wx.state.sent}
    assert len(tokens) == 2 and all(
        wx.state.tokens[t] for t in tokens if t == wx.state.sent[-1].token
    )
    # WeChat down for a moment: the answer is retried, not lost.
    wx.fail_next_sends(2)
    (again,) = await served.say("o-token-1", wx.text("o-token-1", "他们还抢我的钱"))
    assert again == texts.text("received.more") or "收到" in again


async def test_voice_text_and_images(served: Served) -> None:
    wx = served.wx
    openid = "o-voice-1"
    await served.say(openid, wx.event(openid, "subscribe"))
    # An image before any case: "tell us in words first", nothing stored.
    (first,) = await served.say(openid, wx.image(openid, "media-0", b"\xff\xd8 jpeg"))
    assert first == texts.text("attachment_no_case")
    (voice,) = await served.say(openid, wx.voice(openid, "我被班上的同学打了好几次"))
    assert "勇气" in voice
    (case,) = await _cases(openid)
    assert "bullying" in case.labels
    (stored,) = await served.say(openid, wx.image(openid, "media-1", b"\xff\xd8 photo bytes"))
    assert stored == texts.text("attachment_stored")
    async with session_scope() as s:
        (attachment,) = (
            await s.execute(select(Attachment).where(Attachment.case_id == case.id))
        ).scalars()
        assert attachment.kind == "photo"
    # Unrecognised voice once a case exists: the recording is kept for the counsellor.
    amr = b"#!AMR\n" + bytes(range(64))
    (kept,) = await served.say(openid, wx.voice(openid, "", amr))
    assert kept == texts.text("voice_stored")
    async with session_scope() as s:
        voice = (
            await s.execute(
                select(Attachment).where(Attachment.case_id == case.id, Attachment.kind == "voice")
            )
        ).scalar_one()
        assert voice.mime_type == "audio/amr"
        assert attachments.content_of(voice) == amr
    # Before any case there is nothing to keep it with: the follower is asked to say it again.
    other = "o-voice-2"
    await served.say(other, wx.event(other, "subscribe"))
    (unheard,) = await served.say(other, wx.voice(other, "", amr))
    assert unheard == texts.text("wechat.voice_no_text")


async def test_replies_wait_for_the_48_hour_window(served: Served) -> None:
    from bot.wechat_delivery import deliver_once
    from triage.outbox import queue_reply

    wx, openid = served.wx, "o-window-1"
    await served.say(openid, wx.text(openid, CRISIS))
    (case,) = await _cases(openid)
    async with session_scope() as s:
        chat = (await s.execute(select(WeChatChat))).scalars().all()
        for row in chat:
            row.last_inbound_at = utcnow() - timedelta(hours=49)
        live = await s.get(Case, case.id)
        assert live is not None
        await queue_reply(s, live, None, "老师想和你聊聊")
    await deliver_once()
    await asyncio.sleep(0.5)
    assert not any("老师想和你聊聊" in t for t in wx.texts_to(openid))
    # The follower writes again: the reply goes out.
    before = len(wx.texts_to(openid))
    await served.say(openid, wx.text(openid, "还在吗"))
    found = await asyncio.to_thread(wx.wait_for_texts, openid, before + 2)
    assert found[-1] == texts.text("counsellor_reply", text="老师想和你聊聊")


async def test_a_failure_inside_stores_nothing_and_says_so(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import wechat_routes

    wx, openid = served.wx, "o-fault-1"
    real = wechat_routes.handle

    async def broken(session, openid, message):  # noqa: ANN001, ANN202
        await real(session, openid, message)  # writes, then fails: all of it rolled back
        raise RuntimeError("database went away")

    monkeypatch.setattr(wechat_routes, "handle", broken)
    before = await _count(Message)
    xml = wx.text(openid, CRISIS)
    failed = await wx.push(served.url, xml, openid)
    assert failed.status_code == 503
    (said,) = await asyncio.to_thread(wx.wait_for_texts, openid, 1)
    assert said == texts.text("error") and await _count(Message) == before
    # WeChat sends it again (same MsgId, new nonce): now it is taken.
    monkeypatch.setattr(wechat_routes, "handle", real)
    again = await wx.push(served.url, xml, openid)
    assert again.status_code == 200 and await _count(Message) == before + 1

"""WeCom customer service (微信客服) against a stand-in of WeCom over real HTTP: the encrypted
callback, messages read with kf/sync_msg from a cursor, answers through kf/send_msg, the same
conversation (privacy, safety words, crisis screening) and counsellors' replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import attachments, texts, wecom_api
from bot.models import Attachment, WeComCursor
from helpline.db import session_scope
from tests.support.standin import served_here
from tests.wechat_standin import WeComStandin
from triage.models import Case, Message

CRISIS = "我最近总是很难过，觉得活着没意思，每天都想哭"


@pytest_asyncio.fixture
async def kf(
    app: object, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[WeComStandin, str]]:
    from bot.wechat_delivery import delivery_loop
    from helpline.settings import reset_settings

    with WeComStandin() as wx:
        monkeypatch.setenv("HELPLINE_WECOM_CORP_ID", wx.corp_id)
        monkeypatch.setenv("HELPLINE_WECOM_KF_SECRET", wx.secret)
        monkeypatch.setenv("HELPLINE_WECOM_TOKEN", wx.token)
        monkeypatch.setenv("HELPLINE_WECOM_AES_KEY", wx.aes_key)
        monkeypatch.setenv("HELPLINE_WECOM_API_BASE", wx.api_base)
        reset_settings()
        wecom_api.reset()
        delivering = asyncio.create_task(delivery_loop(interval=0.3))
        try:
            async with served_here(app) as url:
                yield wx, url
        finally:
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)
            wecom_api.reset()
    reset_settings()


async def _messages() -> int:
    async with session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(Message))).scalar_one())


async def test_wecom_customer_service_conversation(kf: tuple[WeComStandin, str]) -> None:
    wx, url = kf
    verified = await wx.verify_url(url, "wecom-echo-7")
    assert verified.status_code == 200 and verified.text == "wecom-echo-7"
    before = await _messages()
    # Two customers write; one event says "there is something": everything is read, in pages.
    wx.customer_says("wmChild01", CRISIS)
    wx.customer_says("wmParent01", "2")
    wx.customer_says("wmParent01", "我的孩子在学校被几个同学打了，脸上都是伤")
    assert (await wx.notify(url)).text == "success"
    notice, reply = await asyncio.to_thread(wx.wait_for_sent, "wmChild01", 2)
    assert notice == texts.text("privacy")
    assert texts.text("crisis") in reply and "过去一个月里" in reply  # screening follows
    parent = await asyncio.to_thread(wx.wait_for_sent, "wmParent01", 3)
    assert parent[1] == texts.text("kind_thanks.parent")
    # A parent is addressed as a parent (issue 17), not with the child's "说出来需要勇气".
    assert texts.text("received.harm", "parent") in parent[2] and "勇气" not in parent[2]
    assert len(wx.state.syncs) == 2 and wx.state.syncs[1]["cursor"] == "2"
    assert await _messages() == before + 2
    # The child answers the screening; the next event reads only what is new.
    wx.customer_says("wmChild01", "是")
    assert (await wx.notify(url)).status_code == 200
    (_, _, second) = await asyncio.to_thread(wx.wait_for_sent, "wmChild01", 3)
    assert "真的想过要结束" in second
    for _ in range(200):  # the cursor is saved after the page's answers
        async with session_scope() as s:
            cursor = (await s.execute(select(WeComCursor))).scalar_one()
        if cursor.cursor == "4":
            break
        await asyncio.sleep(0.05)
    assert cursor.cursor == "4" and len(wx.state.syncs) == 3
    async with session_scope() as s:
        case = (
            (await s.execute(select(Case).where(Case.channel == "wecom").order_by(Case.id)))
            .scalars()
            .first()
        )
        assert case is not None and "crisis" in case.labels
    # A counsellor's reply goes back through kf/send_msg.
    from triage.outbox import queue_reply

    async with session_scope() as s:
        live = await s.get(Case, case.id)
        assert live is not None
        await queue_reply(s, live, None, "老师在，我们聊聊好吗？")
    sent = await asyncio.to_thread(wx.wait_for_sent, "wmChild01", 4)
    assert sent[-1] == texts.text("counsellor_reply", text="老师在，我们聊聊好吗？")


async def test_wecom_forged_and_replayed_events_are_refused(kf: tuple[WeComStandin, str]) -> None:
    import httpx

    wx, url = kf
    query, body = wx.event_envelope()
    async with httpx.AsyncClient(timeout=30) as http:
        forged = await http.post(
            f"{url}/wecom", params={**query, "msg_signature": "0" * 40}, content=body
        )
        assert forged.status_code == 403
        assert (await http.post(f"{url}/wecom", params=query, content=body)).status_code == 200
        assert (await http.post(f"{url}/wecom", params=query, content=body)).status_code == 403
        junk = await http.post(f"{url}/wecom", params=query, content=b"<xml>")
        assert junk.status_code in (400, 403)


async def _latest_wecom_case(session: AsyncSession) -> Case:
    query = select(Case).where(Case.channel == "wecom").order_by(Case.id.desc())
    case = (await session.execute(query)).scalars().first()
    assert case is not None
    return case


async def test_wecom_images_and_voice_are_kept_with_the_case(kf: tuple[WeComStandin, str]) -> None:
    wx, url = kf
    jpeg, amr = b"\xff\xd8\xff wecom photo", b"#!AMR\n wecom voice"
    # Before any case: words first, nothing fetched (as on Telegram and the Official Account).
    wx.customer_sends("wmMedia01", "image", jpeg, "image/jpeg")
    await wx.notify(url)
    sent = await asyncio.to_thread(wx.wait_for_sent, "wmMedia01", 2)
    assert sent[-1] == texts.text("attachment_no_case")
    wx.customer_says("wmMedia01", "他们天天在厕所堵我，抢我的钱，还拍了视频")
    wx.customer_sends("wmMedia01", "image", jpeg, "image/jpeg")
    wx.customer_sends("wmMedia01", "voice", amr, "audio/amr")
    await wx.notify(url)
    sent = await asyncio.to_thread(wx.wait_for_sent, "wmMedia01", 5)
    assert sent[3:] == [texts.text("attachment_stored"), texts.text("voice_stored")]
    async with session_scope() as s:
        case = await _latest_wecom_case(s)
        kept = list(
            (await s.execute(select(Attachment).where(Attachment.case_id == case.id))).scalars()
        )
    assert [(a.kind, a.mime_type) for a in kept] == [
        ("photo", "image/jpeg"),
        ("voice", "audio/amr"),
    ]
    assert [attachments.content_of(a) for a in kept] == [jpeg, amr]


async def test_wecom_media_that_cannot_be_fetched_is_said_and_not_lost(
    kf: tuple[WeComStandin, str],
) -> None:
    wx, url = kf
    wx.customer_says("wmMedia02", "同学天天在班级群里骂我，说我是废物，还叫别人都不要理我")
    wx.customer_says("wmMedia02", "gone-media", "image")  # a media_id WeCom no longer has
    await wx.notify(url)
    sent = await asyncio.to_thread(wx.wait_for_sent, "wmMedia02", 3)
    assert sent[-1] == texts.text("attachment_failed")
    # The text before it was stored; the cursor moved on (the failed file is said, not retried).
    async with session_scope() as s:
        case = await _latest_wecom_case(s)
        count = select(func.count()).select_from(Attachment).where(Attachment.case_id == case.id)
        assert (await s.execute(count)).scalar_one() == 0
        assert (
            await s.execute(
                select(func.count()).select_from(Message).where(Message.case_id == case.id)
            )
        ).scalar_one() == 1

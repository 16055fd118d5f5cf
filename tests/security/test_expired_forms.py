"""Issue 16: a form posted after its token expired (or with a stale page) comes back filled in
with what the child wrote, with a fresh token and a plain explanation; nothing is lost."""

from __future__ import annotations

import re
import time

import httpx

from bot import webform
from tests.security.support import client_from
from tests.support.web import csrf_from

WHAT = "班上的人一直在群里骂我，我不敢去学校了"
WHERE = "初二（3）班的微信群"


async def test_expired_report_form_keeps_the_text(app) -> None:  # noqa: ANN001
    async with client_from(app, "192.0.2.40") as child:
        page = await child.get("/report")
        token = csrf_from(page.text)
        child.cookies.clear()  # the browser was closed: its session cookie went with it
        posted = await child.post(
            "/report", data={"csrf_token": token, "what": WHAT, "where": WHERE}
        )
        assert posted.status_code == 403
        assert "表单已过期" in posted.text and "内容都还在" in posted.text
        assert WHAT in posted.text and WHERE in posted.text
        fresh = csrf_from(posted.text)
        assert fresh != token
        sent = await child.post("/report", data={"csrf_token": fresh, "what": WHAT})
        assert sent.status_code == 200 and 'class="receipt"' in sent.text


async def _report_and_open(child: httpx.AsyncClient) -> tuple[str, httpx.Response]:
    page = await child.get("/report")
    sent = await child.post("/report", data={"csrf_token": csrf_from(page.text), "what": WHAT})
    code = re.search(r'class="receipt"[^>]*>([^<]+)<', sent.text).group(1).strip()
    page = await child.get("/follow-up")
    opened = await child.post("/follow-up", data={"csrf_token": csrf_from(page.text), "code": code})
    assert opened.status_code == 200
    return code, opened


async def test_expired_follow_up_keeps_the_addition(app, monkeypatch) -> None:  # noqa: ANN001
    addition = "今天他们又把我的书扔了"
    async with client_from(app, "192.0.2.41") as child:
        code, opened = await _report_and_open(child)
        token = re.search(r'name="token" value="([^"]+)"', opened.text).group(1)
        # Two hours and more later: the page's follow-up token has run out.
        later = time.time() + 3 * 3600
        monkeypatch.setattr(webform.time, "time", lambda: later)
        added = await child.post(
            "/follow-up/add",
            data={"csrf_token": csrf_from(opened.text), "token": token, "text": addition},
        )
        assert added.status_code == 403 and addition in added.text
        assert "不会丢失" in added.text
        monkeypatch.undo()
        # The code is asked again; the addition rides along into the conversation page.
        reopened = await child.post(
            "/follow-up",
            data={"csrf_token": csrf_from(added.text), "code": code, "draft": addition},
        )
        assert reopened.status_code == 200
        assert re.search(r'<textarea id="text"[^>]*>' + addition, reopened.text)


async def test_expired_staff_reply_and_note_keep_the_text(client) -> None:  # noqa: ANN001
    """A counsellor's reply or note posted from a page whose token no longer holds (signed in
    again in another tab) comes back in its box with a fresh token; nothing is saved until
    it is sent again, then it is saved once."""
    from sqlalchemy import select

    from helpline.db import session_scope
    from tests.support.web import login
    from tests.triage.support import BULLYING, new_case
    from triage.models import Message

    typed = {"reply": "你好，我们收到了。你现在安全吗？", "note": "需联系班主任，孩子怕被报复"}
    case_id = await new_case(BULLYING)
    assert (await login(client, "counsellor.a")).status_code == 303
    stale = csrf_from((await client.get(f"/console/cases/{case_id}")).text)
    assert (await login(client, "counsellor.a")).status_code == 303
    for box, text in typed.items():
        url = f"/console/cases/{case_id}/{box}"
        refused = await client.post(url, data={"csrf_token": stale, "text": text})
        assert refused.status_code == 403 and "表单已过期" in refused.text
        assert re.search(rf'<textarea id="{box}-text"[^>]*>{text}</textarea>', refused.text)
        async with session_scope() as s:
            saved = await s.execute(select(Message.text).where(Message.case_id == case_id))
            assert text not in saved.scalars().all()
        fresh = csrf_from(refused.text)
        sent = await client.post(url, data={"csrf_token": fresh, "text": text})
        assert sent.status_code == 303, box
    async with session_scope() as s:
        rows = (await s.execute(select(Message.direction, Message.text))).all()
    assert rows.count(("out", typed["reply"])) == 1 and rows.count(("note", typed["note"])) == 1

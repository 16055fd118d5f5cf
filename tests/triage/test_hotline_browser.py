"""The hotline operator in a real headless Chromium (issue 14): log a mother's call, read the
parents' script, reopen the call from "我登记的来电" and add a note; the case stays in the queue.
"""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from helpline.db import session_scope
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD
from triage.models import Case, Message, StaffUser

CALL = "妈妈来电：女儿说班主任晚上把她叫到办公室摸她的身体，还不让她告诉别人"
NOTE = "家长补充：事情发生在上周三晚自习后，孩子现在在家，情绪稳定"


@pytest.mark.browser
async def test_the_operator_reopens_the_call_they_logged_and_adds_a_note(
    live_server,  # noqa: F811
    chromium,  # noqa: F811
):
    async with session_scope() as s:
        secret = (
            await s.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "hotline.district")
            )
        ).scalar_one()
    server = await live_server()
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{server.url}/console/login")
    await page.get_by_label("用户名").fill("hotline.district")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_label("动态验证码（6位）").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{server.url}/console")

    await page.goto(f"{server.url}/console/calls/new")
    await page.locator("#caller_kind").select_option("parent")
    await page.locator("#text").fill(CALL)
    await page.locator("#org").select_option("sch-a")
    await page.click("#log-call")
    await page.wait_for_selector("#logged")
    script = await page.locator("main").inner_text()
    assert "请告诉来电人（家长）" in script and "不要让孩子洗澡" in script
    assert "这不是你的错" not in script and "先不要洗澡" not in script
    number = await page.locator("#case-number").inner_text()

    # Later: back to the call log, the call is listed; open it and add what the mother said.
    await page.goto(f"{server.url}/console/calls/new")
    await page.locator("#my-calls").get_by_role("link", name=number).click()
    await page.wait_for_url("**/console/cases/*")
    assert "班主任" in await page.locator("#conversation").inner_text()
    assert await page.locator("#send-reply").count() == 0
    await page.get_by_label("内部备注（求助者看不到）").fill(NOTE)
    await page.click("#save-note")
    await page.wait_for_url("**msg=noted")
    assert NOTE in await page.locator("#conversation").inner_text()
    await context.close()
    await server.shutdown()  # the server's engine belongs to its loop: stop it, then read

    async with session_scope() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
        assert case.number == number and case.assignee_id is None and case.status == "new"
        notes = await s.execute(
            select(Message.text).where(Message.case_id == case.id, Message.direction == "note")
        )
        assert list(notes.scalars()) == [NOTE]

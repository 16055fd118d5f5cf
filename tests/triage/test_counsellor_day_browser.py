"""A counsellor's day in a real headless Chromium against a real uvicorn server.

Log in with password and TOTP, take the next case, read it, reply (the reply is in the
reporter's conversation, which the follow-up page shows), relabel, try to close (blocked: the
statutory report is not recorded), record the reports in the escalation panel, close. Without
the escalation package, a close guard registered here stands in for it and "recording the
report" flips what that guard sees.
HELPLINE_SCREENSHOTS=1 also writes docs/screenshots/console-*.png.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD, totp_now
from tests.triage.support import BULLYING, FRAUD, SEXUAL_ABUSE, load_case, new_case
from triage.followup import conversation
from triage.hooks import hooks
from triage.models import LabelFeedback, StaffUser

REPLY = "你好，我是王老师。我们已经收到你的消息，你现在安全吗？"
SHOTS = PROJECT_ROOT / "docs" / "screenshots"


async def _setup() -> tuple[str, list[int]]:
    now = utcnow()
    ids = [
        await new_case(BULLYING, "sch-a", ref=f"student-{i}", at=now - timedelta(minutes=50 - i))
        for i in range(3)
    ]
    await new_case(SEXUAL_ABUSE, "sch-a", ref="student-r", at=now - timedelta(minutes=3))
    await new_case(FRAUD, "sch-b", ref="student-b")
    for case_id in ids:
        assert (await load_case(case_id)).mandatory  # bullying must be reported (001 三(六))
    async with session_scope() as s:
        secret = (
            await s.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "counsellor.a")
            )
        ).scalar_one()
    return secret, ids


async def _record_reports_in_panel(page) -> None:
    """Fill the escalation panel's record form of every open statutory report."""
    made_at = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    forms = page.locator("form.record-report")
    for _ in range(await forms.count()):
        form = forms.first
        await form.locator("input[name=made_to]").fill("校长 张某（学校负责人）")
        await form.locator("input[name=made_at]").fill(made_at)
        await form.locator("input[name=reference]").fill("HZ-2026-001")
        await form.locator("button[type=submit]").click()
        await page.wait_for_load_state()
        await page.reload()  # the next form, from committed state


@pytest.mark.browser
async def test_a_counsellors_day(live_server, chromium):  # noqa: F811
    secret, ids = await _setup()
    server = await live_server()
    recorded: set[int] = set()
    # With the escalation package wired, its panel records the statutory reports and its
    # guard holds the case open; without it, a guard registered here stands in for it.
    real_reports = bool(hooks.case_panels) and bool(hooks.close_guards)
    if not real_reports:

        async def statutory_guard(session, case):
            if case.mandatory and case.id not in recorded:
                return "尚未记录法定报告（向学校负责人、教育主管部门）"
            return None

        hooks.close_guards[:] = [statutory_guard]
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{server.url}/console/login")
    await page.get_by_label("用户名").fill("counsellor.a")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_label("动态验证码（6位）").fill(await totp_now("counsellor.a"))
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{server.url}/console")
    # The role is named in words; its code stays only in an attribute (issue 17: no raw codes).
    assert await page.locator("#role").inner_text() == "心理老师"
    assert await page.locator("#role").get_attribute("data-code") == "counsellor"

    await page.goto(f"{server.url}/console/queue")
    rows = page.locator("#queue tbody tr")
    assert await rows.count() == 4  # three bullying cases and the restricted one; not sch-b
    assert await page.locator("#queue .restricted").count() == 1
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)

    await page.click("#take-next")
    await page.wait_for_url("**/console/cases/*")
    case_id = int(page.url.split("/cases/")[1].split("?")[0])
    assert case_id == ids[0]  # same urgency: the longest waiting first
    assert BULLYING in await page.locator("#conversation").inner_text()
    assert "同学" in await page.locator("#elements-found").inner_text()

    await page.get_by_label("回复内容（通过求助者使用的渠道送达）").fill(REPLY)
    await page.click("#send-reply")
    await page.wait_for_url("**msg=replied")
    assert REPLY in await page.locator("#conversation").inner_text()

    await page.get_by_label("心理危机").check()
    await page.click("#save-labels")
    await page.wait_for_url("**msg=relabelled")
    assert "心理危机" in await page.locator("#labels").inner_text()

    await page.get_by_label("处理结果").select_option("reported")
    await page.get_by_label("处置情况（必填）").fill("已约谈双方学生并告知家长")
    await page.click("#close-case")
    await page.wait_for_url("**msg=close_blocked")
    assert await page.locator("#case-status").inner_text() == "待法定报告"
    assert await page.locator("#blockers li").count() >= 1
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        await page.screenshot(path=str(SHOTS / "console-case.png"), full_page=True)

    if real_reports:
        await _record_reports_in_panel(page)
    else:
        assert "尚未记录法定报告" in await page.locator("#blockers").inner_text()
        recorded.add(case_id)  # the statutory report is recorded
    await page.reload()
    assert await page.locator("#blockers").count() == 0
    await page.get_by_label("处理结果").select_option("reported")
    await page.get_by_label("处置情况（必填）").fill("已向学校负责人和教育局报告，已约谈")
    await page.click("#close-case")
    await page.wait_for_url("**msg=closed")
    assert await page.locator("#case-status").inner_text() == "已结案"
    await context.close()
    await server.shutdown()

    case = await load_case(case_id)
    assert case.status == "closed" and case.outcome == "reported"
    async with session_scope() as s:
        shown = [(m.direction, m.text) for m in await conversation(s, case)]
        feedback = (await s.execute(select(LabelFeedback))).scalars().all()
        viewed = (
            (
                await s.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.object_id == str(case_id), AuditEvent.object_type == "case")
                    .order_by(AuditEvent.id)  # the chain's order; a heap scan has none
                )
            )
            .scalars()
            .all()
        )
    assert ("out", REPLY) in shown  # what the reporter's follow-up page shows
    assert len(feedback) == 1 and {"bullying", "crisis"} <= set(feedback[0].labels)
    for action in ("case.taken", "case.viewed", "case.replied", "case.relabelled"):
        assert action in viewed
    assert viewed.count("case.close_blocked") == 1 and viewed.count("case.closed") == 1
    assert viewed.index("case.close_blocked") < viewed.index("case.closed")

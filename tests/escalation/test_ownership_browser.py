"""Every case has an adult who can act (issue 14), in a real headless Chromium against a real
uvicorn server with the demo configuration:

1. A suicidal report sent through the web form with no school chosen (the form's default) is
   taken from the queue, answered and closed by the district counsellor.
2. A sexual-abuse report about 示范区实验小学, which has no safeguarding lead of its own, is
   taken by the district's safeguarding lead (its counsellor cannot take it); the case went up
   to the district with an audit event and an alert to that lead.
"""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from escalation.models import Delivery
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD
from tests.triage.test_counsellor_day_browser import _record_reports_in_panel
from triage.models import Case, Message, Organisation, StaffUser

CRISIS = "我真的不想活了，今晚就想从楼上跳下去，活着太痛苦了"
ABUSE = "我们班主任晚上把我叫到办公室摸我的身体，还不让我告诉别人，我好害怕"
REPLY = "你好，我是区心理中心的冯老师。谢谢你告诉我们，你现在安全吗？我们一直在。"


async def _report(chromium, url: str, text: str, school: str | None) -> None:  # noqa: ANN001, F811
    context = await chromium.new_context(java_script_enabled=False, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{url}/report")
    await page.locator("#what").fill(text)
    if school:
        await page.locator("#school").select_option(school)
    await page.get_by_role("button", name="发送").click()
    assert (await page.locator("#receipt-code").inner_text()).strip()
    await context.close()


async def _secrets(*usernames: str) -> dict[str, str]:
    """TOTP secrets, read before the server starts (the test may not use the database then)."""
    async with session_scope() as s:
        rows = await s.execute(
            select(StaffUser.username, StaffUser.totp_secret).where(
                StaffUser.username.in_(usernames)
            )
        )
        return dict(rows.all())


async def _sign_in(chromium, url: str, username: str, secret: str):  # noqa: ANN001, ANN202, F811
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{url}/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_label("动态验证码（6位）").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{url}/console")
    return context, page


async def _the_case() -> Case:
    async with session_scope() as s:
        return (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()


@pytest.mark.browser
async def test_no_school_suicidal_report_is_taken_answered_and_closed_by_the_district(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
) -> None:
    secrets = await _secrets("counsellor.district")
    server = await live_server()
    await _report(chromium, server.url, CRISIS, None)

    context, page = await _sign_in(
        chromium, server.url, "counsellor.district", secrets["counsellor.district"]
    )
    await page.goto(f"{server.url}/console/queue")
    assert await page.locator("#queue tbody tr").count() == 1
    await page.click("#take-next")
    await page.wait_for_url("**/console/cases/*")
    assert CRISIS in await page.locator("#conversation").inner_text()

    await page.locator("#reply-text").fill(REPLY)
    await page.click("#send-reply")
    await page.wait_for_url("**msg=replied")
    assert REPLY in await page.locator("#conversation").inner_text()

    await page.locator("#close-outcome").select_option("guardian_informed")
    await page.locator("#close-disposition").fill("已电话联系监护人，转介区心理中心持续跟进")
    await page.click("#close-case")
    await page.wait_for_load_state()
    if await page.locator("form.record-report").count():
        await _record_reports_in_panel(page)
        await page.locator("#close-outcome").select_option("guardian_informed")
        await page.locator("#close-disposition").fill("已电话联系监护人，转介区心理中心持续跟进")
        await page.click("#close-case")
        await page.wait_for_url("**msg=closed")
    assert await page.locator("#case-status").inner_text() == "已结案"
    await context.close()
    await server.shutdown()

    case = await _the_case()
    async with session_scope() as s:
        org = await s.get(Organisation, case.org_id)
        assignee = await s.get(StaffUser, case.assignee_id)
        replies = (
            (
                await s.execute(
                    select(Message.text).where(
                        Message.case_id == case.id, Message.direction == "out"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert org.code == "qp-demo" and org.kind == "district"  # no school: the district's case
    assert case.urgency == "emergency" and case.status == "closed"
    assert assignee.username == "counsellor.district"
    assert REPLY in replies


@pytest.mark.browser
async def test_restricted_case_at_a_school_without_lead_is_taken_by_the_district_lead(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
) -> None:
    codes = await _secrets("counsellor.b", "lead.district")
    server = await live_server()
    await _report(chromium, server.url, ABUSE, "sch-b")

    # The school's counsellor may not take a restricted case: nothing for them to take.
    context, page = await _sign_in(chromium, server.url, "counsellor.b", codes["counsellor.b"])
    await page.goto(f"{server.url}/console/queue")
    await page.click("#take-next")
    await page.wait_for_load_state()
    assert "/console/cases/" not in page.url
    await context.close()

    context, page = await _sign_in(chromium, server.url, "lead.district", codes["lead.district"])
    await page.goto(f"{server.url}/console/queue")
    assert await page.locator("#queue tbody tr").count() == 1  # the lead sees its content
    await page.click("#take-next")
    await page.wait_for_url("**/console/cases/*")
    assert ABUSE in await page.locator("#conversation").inner_text()
    assert "陈主任" in await page.locator("#assignee").inner_text()
    await context.close()
    await server.shutdown()

    case = await _the_case()
    async with session_scope() as s:
        org = await s.get(Organisation, case.org_id)
        routed = (
            (
                await s.execute(
                    select(AuditEvent.details).where(
                        AuditEvent.action == "case.routed_up", AuditEvent.object_id == str(case.id)
                    )
                )
            )
            .scalars()
            .all()
        )
        alerted = (
            (
                await s.execute(
                    select(StaffUser.username)
                    .join(Delivery, Delivery.staff_id == StaffUser.id)
                    .where(Delivery.case_id == case.id, Delivery.purpose == "fallback")
                )
            )
            .scalars()
            .all()
        )
        assignee = await s.get(StaffUser, case.assignee_id)
    assert org.code == "sch-b" and case.restricted
    assert assignee.username == "lead.district"
    assert len(routed) == 1 and routed[0]["to"] == "qp-demo"
    assert set(alerted) == {"lead.district"}

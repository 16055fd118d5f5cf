"""The alert-address page in a real headless Chromium (issue 17): an administrator saves an
address, then tries to remove the only address of a safeguarding lead whom the escalation
policy alerts, and is refused in the coverage check's words.
HELPLINE_SCREENSHOTS=1 also writes docs/screenshots/admin-contact-*.png."""

from __future__ import annotations

import os

import pytest

from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD, totp_now
from tests.triage.support import staff_id

SHOTS = PROJECT_ROOT / "docs" / "screenshots"


@pytest.mark.browser
async def test_an_address_is_saved_and_a_gap_refused(live_server, chromium):  # noqa: F811
    counsellor, lead = await staff_id("counsellor.a"), await staff_id("lead.a")
    server = await live_server()
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/console/login")
    await page.get_by_label("用户名").fill("admin.district")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_label("动态验证码（6位）").fill(await totp_now("admin.district"))
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()
    assert page.url.endswith("/console"), page.url
    await page.goto(f"{server.url}/console/admin/staff")
    async with page.expect_navigation():
        await page.locator(f'a[href="/console/admin/staff/{counsellor}/contact"]').click()
    await page.get_by_label("手机号码（短信、语音）").fill("13800000000")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存").click()
    assert await page.locator("#contact-saved").is_visible()
    assert await page.get_by_label("手机号码（短信、语音）").input_value() == "13800000000"
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "admin-contact-saved.png"), full_page=True)

    await page.goto(f"{server.url}/console/admin/staff/{lead}/contact")
    await page.get_by_label("电子邮箱").fill("")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存").click()
    refusal = await page.locator("#contact-refused").inner_text()
    assert "没有保存" in refusal and "被策略用于提醒，但没有任何提醒渠道地址" in refusal
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        await page.screenshot(path=str(SHOTS / "admin-contact-refused.png"), full_page=True)
    await server.shutdown()

"""The duty-roster page in a real headless Chromium (issue 17): an administrator opens 值班表
from the console's navigation, hands the weekday day shift of a school to someone else (the
week grid shows the new name), then tries to remove the only shift of another school and is
refused in the coverage check's words; then changes a policy step's wait (the whole policy form
goes in one post). No JavaScript is needed: plain forms. HELPLINE_SCREENSHOTS=1 also writes
docs/screenshots/admin-roster-*.png and admin-policies.png."""

from __future__ import annotations

import os

import pytest

from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD, totp_now

SHOTS = PROJECT_ROOT / "docs" / "screenshots"


@pytest.mark.browser
async def test_a_shift_is_handed_over_and_a_gap_refused(live_server, chromium):  # noqa: F811
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
    async with page.expect_navigation():
        await page.get_by_role("navigation").get_by_role("link", name="值班表").click()
    async with page.expect_navigation():
        await page.locator('a[href="/console/admin/rosters/sch-a"]').click()
    grid = page.locator("#week-grid")
    assert "赵值班" in await grid.inner_text()

    # The first shift of sch-a is duty.a's weekday day shift (data/demo/config.yaml).
    shift = page.locator("form.shift").first
    await shift.get_by_label("值班人员").select_option("counsellor.a")
    async with page.expect_navigation():
        await shift.get_by_role("button", name="保存").click()
    assert await page.locator("#roster-notice").is_visible()
    text = await grid.inner_text()
    assert "王老师" in text and "赵值班" not in text and "无人值班" not in text
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "admin-roster-saved.png"), full_page=True)

    await page.goto(f"{server.url}/console/admin/rosters/sch-b")
    async with page.expect_navigation():
        await page.locator("form.shift").first.get_by_role("button", name="删除").click()
    refusal = await page.locator("#roster-refused").inner_text()
    assert "没有保存" in refusal and "无人值班" in refusal
    assert "钱值班" in await page.locator("#week-grid").inner_text()
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        await page.screenshot(path=str(SHOTS / "admin-roster-refused.png"), full_page=True)

    # The policy editor: a wait changed and saved through the plain form.
    async with page.expect_navigation():
        await page.get_by_role("navigation").get_by_role("link", name="升级策略").click()
    form = page.locator("form.policy").first
    await form.locator('input[name="s0_wait"]').fill("3")
    async with page.expect_navigation():
        await form.get_by_role("button", name="保存策略").click()
    assert await page.locator("#policy-notice").is_visible()
    assert (
        await page.locator("form.policy").first.locator('input[name="s0_wait"]').input_value()
        == "3"
    )
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=str(SHOTS / "admin-policies.png"))
    await server.shutdown()

"""The live console in a real headless Chromium against a real uvicorn server (issue 17).

A counsellor keeps the queue open; a child writes an emergency through the real web form in
another tab: the new row (with its one-line preview) appears without a reload, the tone and the
desktop notification are called (both stubbed in the page and counted), the countdowns tick.
On the case page, the child's follow-up appears without a reload while a note being typed
stays. At 390 px the queue is a list of cards, no column one character wide. With JavaScript
off the pages work as served, search included.
HELPLINE_SCREENSHOTS=1 also writes docs/screenshots/console-queue-live.png,
console-case-live.png and console-queue-390.png.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from playwright.async_api import expect

from helpline.db import utcnow
from helpline.settings import PROJECT_ROOT
from tests.browser_support import (  # noqa: F401 - fixtures
    SOUND_AND_NOTIFICATION_STUBS,
    chromium,
    live_server,
    sign_in,
)
from tests.triage.support import BULLYING, FRAUD, SEXUAL_ABUSE, load_case, new_case

SHOTS = PROJECT_ROOT / "docs" / "screenshots"
EMERGENCY = "我现在站在学校楼顶，马上就跳下去"
FOLLOW_UP = "我已经下来了，现在在宿舍"


def _shoot(name: str) -> str | None:
    if not os.environ.get("HELPLINE_SCREENSHOTS"):
        return None
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / name)


async def _setup() -> dict[str, int]:
    now = utcnow()
    return {
        "bullying": await new_case(BULLYING, "sch-a", ref="live-1", at=now - timedelta(minutes=20)),
        "fraud": await new_case(FRAUD, "sch-a", ref="live-2", at=now - timedelta(minutes=10)),
        "restricted": await new_case(SEXUAL_ABUSE, "sch-a", ref="live-3"),
    }


async def _sign_in(context, url: str, username: str = "counsellor.a"):  # noqa: ANN001, ANN202
    page = await context.new_page()
    await sign_in(page, url, username)
    return page


async def _until(page, condition: str, seconds: float = 20) -> None:  # noqa: ANN001
    """Wait for a condition in the page (wait_for_function evaluates a string, which the
    console's Content-Security-Policy forbids: it is polled from here instead)."""
    for _ in range(int(seconds * 4)):
        if await page.evaluate(condition):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {seconds} s: {condition}")


@pytest.mark.browser
async def test_queue_and_case_page_update_live_and_a_new_emergency_is_announced(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
) -> None:
    await _setup()
    server = await live_server()
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    await context.add_init_script(SOUND_AND_NOTIFICATION_STUBS)
    page = await _sign_in(context, server.url)
    await page.goto(f"{server.url}/console/queue")
    rows = page.locator("#queue tbody tr")
    assert await rows.count() == 3
    # The script runs: the caption says the list updates itself.
    assert "每秒更新" in await page.locator("#queue caption").inner_text()
    await page.evaluate("window.__stay = 'same page'")
    assert await page.evaluate("window.__notes.length") == 0

    # A child writes through the real web form, in another tab.
    form = await context.new_page()
    await form.goto(f"{server.url}/report")
    await form.fill("#what", EMERGENCY)
    await form.select_option("#school", "sch-a")
    await form.click("#send")
    code = (await form.locator("#receipt-code").inner_text()).strip()

    # The queue, never reloaded, lists it first with its preview.
    await expect(rows).to_have_count(4, timeout=20_000)
    assert await page.evaluate("window.__stay") == "same page"
    first = rows.first
    assert "紧急" in await first.inner_text()
    assert EMERGENCY[:10] in await first.locator(".preview-text").inner_text()
    assert "已自动更新" in await page.locator("#queue-summary").inner_text()

    # The tone and the notification: once, with the alert's words and no text of the child.
    await _until(page, "window.__notes.length >= 1")
    await page.wait_for_timeout(4000)  # a later alert about the same case is not told again
    notes = await page.evaluate("window.__notes")
    # (The fraud case of the setup reads as an emergency too: it was told on the home page
    # after signing in, and is not told again here.)
    number = await first.locator("a").first.inner_text()
    assert len(notes) == 1 and number in notes[0]["title"] and "需要处理" in notes[0]["title"]
    assert "楼顶" not in notes[0]["title"] + notes[0]["body"]
    assert await page.evaluate("window.__tones") >= 1
    listed = page.locator("#live-alerts li[data-emergency]", has_text=number)
    assert await listed.count() == 1

    # Countdowns tick: a deadline moved into the past reads as overdue within a second.
    await page.evaluate(
        """() => {
        const el = document.querySelector('#queue [data-due]');
        el.dataset.due = new Date(Date.now() - 330000).toISOString();
    }"""
    )
    overdue = page.locator("#queue tbody tr.overdue [data-due]")
    await overdue.first.wait_for(timeout=5000)
    assert await overdue.first.inner_text() == "已超时 5 分钟"
    if path := _shoot("console-queue-live.png"):
        await page.screenshot(path=path, full_page=True)

    # The case page: the child's follow-up appears while a note is being typed.
    await first.locator("a").first.click()
    await page.wait_for_url("**/console/cases/*")
    case_id = int(page.url.split("/cases/")[1].split("?")[0])
    await page.evaluate("window.__stay = 'case page'")
    await page.get_by_label("内部备注（求助者看不到）").fill("正在联系班主任（草稿）")
    await form.goto(f"{server.url}/follow-up")
    await form.get_by_label("求助码").fill(code)
    await form.get_by_role("button", name="查看").click()
    await form.get_by_label("补充内容").fill(FOLLOW_UP)
    await form.get_by_role("button", name="发送补充").click()
    await form.locator("#added").wait_for()
    conversation = page.locator("#conversation")
    await expect(conversation).to_contain_text(FOLLOW_UP, timeout=20_000)
    assert await page.evaluate("window.__stay") == "case page"
    assert EMERGENCY in await conversation.inner_text()
    assert await page.get_by_label("内部备注（求助者看不到）").input_value() == (
        "正在联系班主任（草稿）"
    )
    if path := _shoot("console-case-live.png"):
        await page.screenshot(path=path, full_page=True)
    await context.close()
    await server.shutdown()
    assert (await load_case(case_id)).status == "new"  # looking changed nothing


@pytest.mark.browser
async def test_queue_at_390_px_is_cards_and_search_works_without_javascript(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
) -> None:
    ids = await _setup()
    bullying = await load_case(ids["bullying"])
    server = await live_server()

    phone = await chromium.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2
    )
    page = await _sign_in(phone, server.url)
    await page.goto(f"{server.url}/console/queue")
    # Nothing wider than the screen: no sideways scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    cells = await page.evaluate(
        """() => Array.from(document.querySelectorAll('#queue tbody tr')).map(tr =>
        Array.from(tr.children).map(td => {
          const box = td.getBoundingClientRect();
          return {width: box.width, text: td.innerText.trim()};
        }))"""
    )
    assert len(cells) == 3
    for row in cells:
        assert len(row) == 8
        for cell in row:
            # A card's line spans the card (the desktop table gave 8 columns ~40 px each).
            assert cell["width"] >= 300, cell
    # The table's header row is out of sight; each line names its field instead.
    head = await page.locator("#queue thead").bounding_box()
    assert head is None or head["x"] + head["width"] <= 0
    assert await page.locator("#queue tbody tr").first.locator(".cell-label").first.is_visible()
    if path := _shoot("console-queue-390.png"):
        await page.screenshot(path=path, full_page=True)
    await phone.close()

    plain = await chromium.new_context(java_script_enabled=False, locale="zh-CN")
    page = await _sign_in(plain, server.url)
    await page.goto(f"{server.url}/console/queue")
    caption = await page.locator("#queue caption").inner_text()
    assert "刷新页面即更新" in caption  # as served: nothing claims to update itself
    assert await page.locator("#queue tbody tr").count() == 3
    await page.get_by_label("按编号或文字搜索").fill("抢我的钱")
    await page.locator("#search").click()
    await page.wait_for_url("**q=*")
    links = page.locator("#queue tbody td:first-child a")
    assert await links.all_inner_texts() == [bullying.number]
    await page.get_by_label("按编号或文字搜索").fill(bullying.number)
    await page.locator("#search").click()
    await page.wait_for_url(f"**q={bullying.number}*")
    assert await links.all_inner_texts() == [bullying.number]
    assert "按编号找到" in await page.locator("#search-result").inner_text()
    await plain.close()

"""Keeping the receipt code in a real Chromium: without JavaScript the text and picture links
download; with JavaScript a copy button puts the code on the clipboard and the picture is a PNG.
HELPLINE_SCREENSHOTS=1 writes docs/screenshots/receipt-*.png.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bot.test_form_browser import _shot
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures


async def _read_text(path: Path) -> str:
    return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")


async def _report(page, url: str, text: str) -> str:  # noqa: ANN001
    await page.goto(url + "/report")
    await page.get_by_label("你是谁？").select_option("student")
    await page.get_by_label("发生了什么？（必填）").fill(text)
    await page.get_by_role("button", name="发送").click()
    return (await page.locator("#receipt-code").inner_text()).strip()


@pytest.mark.browser
async def test_receipt_code_downloads_without_javascript(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
    tmp_path: Path,
) -> None:
    server = await live_server()
    context = await chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, accept_downloads=True
    )
    page = await context.new_page()
    code = await _report(page, server.url, "同学天天在厕所堵我，抢我的钱")
    assert await page.locator("#copy-receipt").count() == 0  # no script: no dead button
    async with page.expect_download() as got:
        await page.locator("#save-text").click()
    saved = await (await got.value).path()
    assert code in await _read_text(saved)
    async with page.expect_download() as got:
        await page.locator("#save-image").click()
    picture = await got.value
    assert picture.suggested_filename.endswith(".svg")
    assert code in await _read_text(await picture.path())
    await context.close()


@pytest.mark.browser
async def test_receipt_code_copy_and_png_with_javascript(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
    tmp_path: Path,
) -> None:
    server = await live_server()
    context = await chromium.new_context(
        viewport={"width": 390, "height": 844}, accept_downloads=True
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = await context.new_page()
    code = await _report(page, server.url, "最近考试压力好大，作业写不完")
    assert "学习压力大" in await page.locator("main").inner_text()  # everyday advice
    await page.locator("#copy-receipt").click()
    await page.wait_for_selector("#copy-receipt[data-copied]")
    assert await page.evaluate("navigator.clipboard.readText()") == code
    await page.wait_for_selector('#save-image[data-format="png"]')
    async with page.expect_download() as got:
        await page.locator("#save-image").click()
    picture = await got.value
    assert picture.suggested_filename.endswith(".png")
    png = await asyncio.to_thread(Path(await picture.path()).read_bytes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    await page.screenshot(path=_shot(tmp_path, "receipt-keep.png"), full_page=True)
    await context.close()

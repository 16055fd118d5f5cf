"""The web form in a real headless Chromium with JavaScript OFF, on a phone-sized screen:
submit a report, see the receipt, follow up, see a counsellor's reply, add more.
HELPLINE_SCREENSHOTS=1 writes docs/screenshots/form-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.db import create_engine
from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from triage.models import Case, Message

SHOTS = PROJECT_ROOT / "docs" / "screenshots"
REPLY = "你好，我是王老师。谢谢你告诉我们，这不是你的错。明天上午第二节课后，来心理室找我好吗？"


def _shot(tmp: Path, name: str) -> str:
    folder = SHOTS if os.environ.get("HELPLINE_SCREENSHOTS") else tmp
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


async def _counsellor_replies(db_url: str) -> int:
    """Queue a counsellor's reply with triage's outbox, on an engine of the test's own (the
    live server's engine belongs to the server's event loop)."""
    from triage.outbox import queue_reply

    engine = create_engine(db_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as s:
            case = (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
            await queue_reply(s, case, None, REPLY)
            await s.commit()
            return case.id
    finally:
        await engine.dispose()


@pytest.mark.browser
async def test_report_receipt_follow_up_in_chromium(
    live_server,  # noqa: ANN001, F811
    chromium,  # noqa: ANN001, F811
    db_url: str,
    tmp_path: Path,
) -> None:
    server = await live_server()
    context = await chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    page = await context.new_page()
    await page.goto(server.url + "/")
    await page.screenshot(path=_shot(tmp_path, "form-home.png"), full_page=True)
    await page.get_by_role("link", name="我要求助").click()
    await page.wait_for_url(server.url + "/report")

    # Keyboard and labels: every field is reached by its label.
    await page.get_by_label("你是谁？").select_option("student")
    await page.get_by_label("发生了什么？（必填）").fill(
        "班上有三个同学天天在厕所堵我，抢我的钱，还说告诉老师就打我。"
    )
    await page.get_by_label("什么时候？（选填）").fill("这学期开始，几乎每天")
    await page.get_by_label("在哪里？（选填）").fill("学校二楼厕所")
    await page.get_by_label("哪所学校？（选填）").select_option("sch-a")
    await page.screenshot(path=_shot(tmp_path, "form-report.png"), full_page=True)
    await page.get_by_role("button", name="发送").click()

    code = (await page.locator("#receipt-code").inner_text()).strip()
    assert len(code.replace("-", "")) == 16
    body = await page.locator("main").inner_text()
    assert "只显示这一次" in body and "接下来会怎样" in body and "12355" in body
    await page.screenshot(path=_shot(tmp_path, "form-receipt.png"), full_page=True)

    case_id = await _counsellor_replies(db_url)

    await page.goto(server.url + "/follow-up")
    await page.get_by_label("求助码").fill(code.lower())
    await page.get_by_role("button", name="查看").click()
    conversation = page.locator("#conversation")
    assert REPLY in await conversation.inner_text()
    assert "三个同学" in await conversation.inner_text()
    await page.get_by_label("补充内容").fill("今天他们又来了，还拿走了我的饭卡")
    await page.get_by_role("button", name="发送补充").click()
    assert await page.locator("#added").is_visible()
    assert "还拿走了我的饭卡" in await page.locator("#conversation").inner_text()
    await page.screenshot(path=_shot(tmp_path, "form-follow-up.png"), full_page=True)

    await page.goto(server.url + "/follow-up")
    await page.get_by_label("求助码").fill("ABCD-EFGH-JKMN-PQRS")
    await page.get_by_role("button", name="查看").click()
    assert "没有找到" in await page.locator("#code-error").inner_text()
    await context.close()

    engine = create_engine(db_url)
    try:
        async with AsyncSession(engine) as s:
            texts = (
                await s.execute(
                    select(Message.direction).where(Message.case_id == case_id).order_by(Message.id)
                )
            ).scalars()
            assert list(texts) == ["in", "out", "in"]
    finally:
        await engine.dispose()

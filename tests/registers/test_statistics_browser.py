"""The statistics page in a real headless Chromium on a generated year: charts drawn, the page's
stylesheet applied under the CSP, suppression visible in the district's view.
HELPLINE_SCREENSHOTS=1 writes docs/screenshots/statistics-district.png and statistics-school.png.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from registers.demo_data import generate
from tests.browser_support import chromium, live_server, sign_in  # noqa: F401 - fixtures
from tests.registers.support import month_key
from triage.models import Case, StaffUser

SHOTS = PROJECT_ROOT / "docs" / "screenshots"


async def _setup() -> tuple[str, dict[str, str]]:
    from assembly import wiring

    wiring.wire_hooks()
    async with session_scope() as session:
        await generate(session, utcnow().year - 1, 7, 150)
    async with session_scope() as session:
        received = (await session.execute(select(Case.received_at))).scalars().all()
        secrets = dict(
            (await session.execute(select(StaffUser.username, StaffUser.totp_secret))).all()
        )
    months = Counter(month_key(at) for at in received)
    return max(months, key=lambda m: months[m]), secrets


async def _sign_in(page, url: str, username: str, secret: str) -> None:  # noqa: ANN001
    await sign_in(page, url, username)


def _shot(tmp: Path, name: str) -> str:
    folder = SHOTS if os.environ.get("HELPLINE_SCREENSHOTS") else tmp
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


@pytest.mark.browser
async def test_statistics_page_in_chromium(live_server, chromium, tmp_path: Path) -> None:  # noqa: ANN001, F811
    month, secrets = await _setup()
    server = await live_server()
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security" in msg.text else None
    )

    await _sign_in(page, server.url, "admin.district", secrets["admin.district"])
    await page.goto(f"{server.url}/console/statistics?month={month}")
    assert await page.locator("h1").inner_text() == f"统计月报 · 示范区教育局 · {month}"
    assert await page.locator(".reg-chart svg").count() == 5  # four breakdowns and the schools
    assert await page.locator(".reg-chart rect").count() > 10
    display = await page.locator(".reg-charts").evaluate("e => getComputedStyle(e).display")
    assert display == "flex"  # registers.css loaded despite the strict CSP
    headers = await page.locator("#statistics thead th").all_inner_texts()
    assert headers[2:] == [
        "示范区教育局（合计）",
        "示范区教育局",
        "示范区第一中学",
        "示范区实验小学",
    ]
    school_cells = await page.locator("#statistics tbody td.num").all_inner_texts()
    assert "<3" in school_cells
    await page.screenshot(path=_shot(tmp_path, "statistics-district.png"), full_page=True)

    async with page.expect_download() as info:
        await page.locator("#export-xlsx").click()
    download = await info.value
    assert download.suggested_filename == f"statistics-qp-demo-{month}.xlsx"

    await context.clear_cookies()
    await _sign_in(page, server.url, "lead.a", secrets["lead.a"])
    await page.goto(f"{server.url}/console/statistics?month={month}")
    assert await page.locator("#statistics thead th").count() == 3  # the school's own column
    assert "<3" not in await page.locator("#statistics tbody").inner_text()  # its own: exact
    await page.screenshot(path=_shot(tmp_path, "statistics-school.png"), full_page=True)
    assert blocked == []
    await context.close()

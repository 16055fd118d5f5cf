"""TOTP enrolment by QR code, in a real Chromium: an administrator creates an account, the
page shows the QR code once; the code read back from a screenshot of the page (OpenCV's QR
detector, as a phone's authenticator would) is the account's otpauth URI, and its codes sign
the new account in. HELPLINE_SCREENSHOTS=1 writes docs/screenshots/admin-totp-qr.png."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from helpline.db import session_scope
from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.conftest import DEMO_PASSWORD
from triage.models import StaffUser

SHOTS = PROJECT_ROOT / "docs" / "screenshots"


def _decode(png: bytes) -> str:
    import cv2
    import numpy

    image = cv2.imdecode(numpy.frombuffer(png, numpy.uint8), cv2.IMREAD_COLOR)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


async def _sign_in(page, url: str, username: str, password: str, secret: str) -> None:  # noqa: ANN001
    await page.goto(f"{url}/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_label("动态验证码（6位）").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{url}/console")


@pytest.mark.browser
async def test_new_account_enrols_by_qr_code(live_server, chromium, tmp_path: Path) -> None:  # noqa: ANN001, F811
    async with session_scope() as s:
        admin_secret = (
            await s.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "admin.district")
            )
        ).scalar_one()
    server = await live_server()
    context = await chromium.new_context(viewport={"width": 900, "height": 1200}, locale="zh-CN")
    page = await context.new_page()
    await _sign_in(page, server.url, "admin.district", DEMO_PASSWORD, admin_secret)
    await page.goto(f"{server.url}/console/admin/staff")
    await page.get_by_label("用户名").fill("counsellor.new")
    await page.get_by_label("姓名").fill("新老师")
    await page.get_by_label("角色", exact=True).last.select_option("counsellor")
    await page.get_by_label("单位").select_option("sch-a")
    await page.get_by_role("button", name="创建").click()
    shown_uri = (await page.locator("#totp-uri").inner_text()).strip()
    password = (await page.locator("#new-password").inner_text()).strip()
    qr = page.locator("#totp-qr")
    await qr.wait_for()
    png = await qr.screenshot()
    folder = SHOTS if os.environ.get("HELPLINE_SCREENSHOTS") else tmp_path
    await page.screenshot(path=str(folder / "admin-totp-qr.png"), full_page=True)
    read = await asyncio.to_thread(_decode, png)
    assert read == shown_uri and read.startswith("otpauth://totp/")
    secret = parse_qs(urlparse(read).query)["secret"][0]
    await context.clear_cookies()
    await _sign_in(page, server.url, "counsellor.new", password, secret)
    await context.close()

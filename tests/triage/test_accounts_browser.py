"""Staff accounts in a real headless Chromium (issue 17): an administrator makes an account and
is shown its authenticator QR code; the QR code in the page is read back pixel by pixel and must
be the otpauth URI shown beside it; the new member of staff signs in with the key from it, is
made to set their own password before anything else, is given recovery codes, and signs in
again with one of them instead of a TOTP code.

The QR code is checked twice: decoded from a screenshot of the image with OpenCV's QR detector
(a test dependency; no pure-Python QR decoder is installable from PyPI: the decoders there wrap
zbar's or zxing's C/C++ libraries or need a neural network), which must give the shown URI; and
read as a module matrix (its pixels, drawn on a canvas in the page) that must equal segno's
encoding of that URI, mask and error level included.
HELPLINE_SCREENSHOTS=1 also writes docs/screenshots/account-*.png.
"""

from __future__ import annotations

import asyncio
import os

import pyotp
import pytest
import segno

from helpline.settings import PROJECT_ROOT
from tests.browser_support import chromium, live_server  # noqa: F401 - fixtures
from tests.support.web import DEMO_PASSWORD, totp_now

SHOTS = PROJECT_ROOT / "docs" / "screenshots"
NEW_PASSWORD = "操场边的梧桐树 2026 秋"  # noqa: S105 - test fixture

# The image's pixels as 0 (light or transparent) / 1 (dark), drawn at its natural size.
READ_PIXELS = """(img) => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const dark = [];
  for (let i = 0; i < c.width * c.height; i++) {
    dark.push(d[i * 4 + 3] > 127 && d[i * 4] < 128 ? 1 : 0);
  }
  return {width: c.width, height: c.height, dark: dark};
}"""


def modules_from_pixels(width: int, height: int, dark: list[int]) -> list[list[int]]:
    """The QR symbol's module matrix read from its pixels: the symbol is the box around the
    dark pixels, a module is a seventh of the top-left finder pattern's first dark run, and
    each module is read at its centre. Asserts a quiet zone of at least four modules."""
    rows = [dark[y * width : (y + 1) * width] for y in range(height)]
    ys = [y for y, row in enumerate(rows) if any(row)]
    xs = [x for x in range(width) if any(rows[y][x] for y in ys)]
    top, left, bottom, right = ys[0], xs[0], ys[-1], xs[-1]
    run = 0
    while rows[top][left + run]:
        run += 1
    module = run / 7
    size = round((right - left + 1) / module)
    assert size == round((bottom - top + 1) / module) and (size - 17) % 4 == 0
    assert min(left, top, width - 1 - right, height - 1 - bottom) >= 4 * module - 1
    return [
        [rows[int(top + (r + 0.5) * module)][int(left + (c + 0.5) * module)] for c in range(size)]
        for r in range(size)
    ]


def _decode(png: bytes) -> str:
    import cv2
    import numpy

    image = cv2.imdecode(numpy.frombuffer(png, numpy.uint8), cv2.IMREAD_COLOR)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return text


async def _sign_in(page, url: str, username: str, password: str, code: str) -> None:  # noqa: ANN001
    await page.goto(f"{url}/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_label("动态验证码（6位）").fill(code)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()


async def _shot(page, name: str) -> None:  # noqa: ANN001
    if os.environ.get("HELPLINE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"account-{name}.png"), full_page=True)


@pytest.mark.browser
async def test_enrolment_by_qr_first_password_and_a_recovery_code(live_server, chromium):  # noqa: F811
    server = await live_server()
    admin_context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    admin = await admin_context.new_page()
    await _sign_in(
        admin, server.url, "admin.district", DEMO_PASSWORD, await totp_now("admin.district")
    )
    await admin.goto(f"{server.url}/console/admin/staff")
    await admin.get_by_label("用户名", exact=True).fill("new.auditor")
    await admin.get_by_label("姓名", exact=True).fill("新审计员")
    await admin.locator("#new-role").select_option("auditor")
    await admin.locator("#new-org").select_option("qp-demo")
    await admin.get_by_role("button", name="创建").click()
    await admin.wait_for_load_state()
    qr = admin.locator("#totp-qr")
    await qr.wait_for()
    uri = (await admin.locator("#totp-uri").inner_text()).strip()
    password = (await admin.locator("#new-password").inner_text()).strip()
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    await _shot(admin, "totp-qr")

    # What a phone would scan: the image decodes to the shown URI, and its modules are exactly
    # that URI's QR code.
    assert await asyncio.to_thread(_decode, await qr.screenshot()) == uri
    pixels = await qr.evaluate(READ_PIXELS)
    seen = modules_from_pixels(pixels["width"], pixels["height"], pixels["dark"])
    expected = [[int(bit) for bit in row] for row in segno.make(uri, error="m", micro=False).matrix]
    assert seen == expected
    # And a different key would not have passed (the comparison can fail).
    other = pyotp.TOTP(pyotp.random_base32()).provisioning_uri(
        name="new.auditor", issuer_name="Helpline"
    )
    assert seen != [[int(b) for b in row] for row in segno.make(other, error="m").matrix]
    secret = pyotp.parse_uri(uri).secret

    # First sign-in: with the key from the QR code; the console opens on the password form.
    staff_context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await staff_context.new_page()
    await _sign_in(page, server.url, "new.auditor", password, pyotp.TOTP(secret).now())
    assert page.url.endswith("/console/account/password")
    await page.goto(f"{server.url}/console/audit")
    assert page.url.endswith("/console/account/password")
    await page.locator("#current").fill(password)
    await page.locator("#new").fill("too short")
    await page.locator("#repeat").fill("too short")
    await _shot(page, "first-login-password")
    await page.locator("#new").evaluate("e => e.removeAttribute('minlength')")
    await page.locator("#repeat").evaluate("e => e.removeAttribute('minlength')")
    await page.get_by_role("button", name="保存新密码").click()
    await page.wait_for_load_state()
    assert "至少需要" in await page.locator("#password-error").inner_text()
    await page.locator("#current").fill(password)
    await page.locator("#new").fill(NEW_PASSWORD)
    await page.locator("#repeat").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="保存新密码").click()
    await page.wait_for_load_state()
    codes = [c.strip() for c in await page.locator(".recovery-code").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10
    await _shot(page, "recovery-codes")
    await page.get_by_role("link", name="我已保存，进入工作台").click()
    await page.wait_for_load_state()
    assert await page.locator("h1").inner_text() == "你好，新审计员"
    await page.goto(f"{server.url}/console/audit")
    assert page.url.endswith("/console/audit")

    # The phone is not at hand: a recovery code in the code box signs in, once.
    later = await (await chromium.new_context()).new_page()
    await _sign_in(later, server.url, "new.auditor", NEW_PASSWORD, codes[3])
    assert later.url.endswith("/console")
    await later.goto(f"{server.url}/console/account")
    assert await later.locator("#codes-left").inner_text() == "9"
    await _shot(later, "page")
    again = await (await chromium.new_context()).new_page()
    await _sign_in(again, server.url, "new.auditor", NEW_PASSWORD, codes[3])
    assert again.url.endswith("/console/login")
    assert "不正确" in await again.get_by_role("alert").inner_text()
    await server.shutdown()

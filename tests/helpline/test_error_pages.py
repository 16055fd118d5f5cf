"""Error pages are Chinese HTML; public pages carry the help numbers, staff pages do not."""

from __future__ import annotations

import httpx

from tests.support.web import login

HELP_NUMBERS = ("110", "120", "12355")


def _public(page: httpx.Response) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-kind="help-lines"' in page.text
    for number in HELP_NUMBERS:
        assert f"<strong>{number}</strong>" in page.text
    assert "返回首页" in page.text and "Not Found" not in page.text


def _staff(page: httpx.Response) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert "help-lines" not in page.text and "110" not in page.text
    assert "返回工作台" in page.text and "工作台" in page.text


async def test_404_on_a_public_route_is_chinese_with_help_numbers(client: httpx.AsyncClient):
    page = await client.get("/no/such/page")
    assert page.status_code == 404
    assert "页面不存在" in page.text
    _public(page)


async def test_404_on_a_staff_route_has_no_child_banner(client: httpx.AsyncClient):
    page = await client.get("/console/no/such/page")
    assert page.status_code == 404 and "页面不存在" in page.text
    _staff(page)


async def test_405_is_chinese(client: httpx.AsyncClient):
    page = await client.delete("/report")
    assert page.status_code == 405 and "请求方式不对" in page.text
    assert "Method Not Allowed" not in page.text
    _public(page)
    staff = await client.put("/console/login")
    assert staff.status_code == 405
    _staff(staff)


async def test_json_callers_still_get_json(client: httpx.AsyncClient):
    page = await client.get("/nothing-here", headers={"accept": "application/json"})
    assert page.status_code == 404 and page.json()["error"] == "页面不存在"


async def test_staff_forbidden_page_has_no_110_banner(client: httpx.AsyncClient):
    await login(client, "auditor.district")
    page = await client.get("/console/admin/staff")
    assert page.status_code == 403 and "无权访问" in page.text
    _staff(page)


async def test_500_pages_public_and_staff(app, db_url: str) -> None:
    async def boom() -> None:
        raise RuntimeError("secret message text 我被打了")

    app.add_api_route("/boom", boom)
    app.add_api_route("/console/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        public = await c.get("/boom")
        staff = await c.get("/console/boom")
    assert public.status_code == 500 and "系统出错了" in public.text
    _public(public)
    assert "secret" not in public.text and "我被打了" not in public.text
    assert staff.status_code == 500 and "系统出错了" in staff.text
    _staff(staff)

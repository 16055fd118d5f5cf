"""Helpers for the security tests: clients from chosen addresses, sign-in steps."""

from __future__ import annotations

import re

import httpx

from tests.support.web import DEMO_PASSWORD, csrf_from, totp_now


def client_from(app: object, address: str) -> httpx.AsyncClient:
    """A client whose requests arrive from `address` (as the ASGI server would report it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str = DEMO_PASSWORD,
    code: str | None = None,
) -> httpx.Response:
    page = await client.get("/console/login")
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    data["totp"] = await totp_now(username) if code is None else code
    return await client.post("/console/login", data=data)


def error_of(page: httpx.Response) -> str:
    found = re.search(r'class="error"[^>]*>([^<]*)<', page.text)
    return found.group(1) if found else ""

"""Issue 16: every form route of the assembled app, fuzzed (Hypothesis): arbitrary text, bytes
and sets of fields, from an anonymous visitor and from signed-in staff with valid form tokens.
No answer may be a 5xx, and no exception may escape the app.

Modest example counts keep it fast; HELPLINE_FUZZ_EXAMPLES raises them for a longer hunt.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import httpx
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.db import dispose_engine
from tests.support.web import login

EXAMPLES = int(os.environ.get("HELPLINE_FUZZ_EXAMPLES", "150"))
# Field names the forms read (a route's own are added from its signature).
NAMES = [
    "csrf_token", "what", "when", "where", "who", "school", "contact", "reporter_kind", "code",
    "text", "token", "draft", "username", "password", "totp", "name", "grade", "note",
    "handling", "investigation", "determination", "bullying_type", "investigated_on", "made_to",
    "made_at", "reference", "to", "label", "labels", "reason", "into", "kind", "role", "active",
    "emergency", "high", "medium", "low", "org", "email", "phone", "caller", "summary",
]  # fmt: skip
SKIP = {"/console/logout"}  # would end the staff sessions the other examples need

text = st.text(max_size=300) | st.sampled_from(["", "\x00", "0", "-1", "9" * 30, "=1+1", "%00"])
path_value = st.integers(-3, 40).map(str) | st.sampled_from(["9" * 25, "%00", "a", "-0", "1.5"])


def _form_routes() -> list[tuple[str, list[str]]]:
    from assembly import wiring

    routes = []
    for route in (r for router in wiring.routers() for r in router.routes):
        if isinstance(route, APIRoute) and "POST" in route.methods and route.path not in SKIP:
            own = [getattr(p, "alias", p.name) for p in route.dependant.body_params]
            routes.append((route.path, own))
    return routes


def _fill(path: str, values: list[str]) -> str:
    names = re.findall(r"{([^}]+)}", path)
    for name, value in zip(names, values + ["1"] * len(names), strict=False):
        path = path.replace("{" + name + "}", value, 1)
    return path


async def _staff_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/console")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def test_no_form_route_answers_5xx(db_url: str) -> None:
    asyncio.run(dispose_engine())  # this test's loop makes its own connections
    loop = asyncio.new_event_loop()
    try:
        _run(loop)
    finally:
        loop.run_until_complete(dispose_engine())
        loop.close()


def _run(loop: asyncio.AbstractEventLoop) -> None:
    from assembly import wiring
    from assembly.app import create_app

    wiring.wire_hooks()
    app = create_app()
    routes = _form_routes()
    assert len(routes) >= 20, routes  # every form route is found

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    anonymous, admin, lead = client(), client(), client()

    async def setup() -> dict[str, str]:
        await anonymous.get("/report")
        await login(admin, "admin.district")
        await login(lead, "lead.a")
        return {"admin": await _staff_token(admin), "lead": await _staff_token(lead)}

    tokens = loop.run_until_complete(setup())
    assert all(tokens.values())
    seen: set[str] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        route=st.sampled_from(routes),
        who=st.sampled_from(["anonymous", "admin", "lead"]),
        path_values=st.lists(path_value, max_size=3),
        names=st.lists(st.sampled_from(NAMES) | st.text(max_size=20), max_size=12),
        values=st.lists(text, max_size=12),
        with_token=st.booleans(),
        raw=st.none() | st.binary(max_size=2000),
        content_type=st.sampled_from(
            ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]
        ),
    )
    def one(route, who, path_values, names, values, with_token, raw, content_type) -> None:  # noqa: ANN001
        path, own = route
        target = {"anonymous": anonymous, "admin": admin, "lead": lead}[who]
        url = _fill(path, path_values)
        seen.add(path)

        async def send() -> httpx.Response:
            if raw is not None:
                headers = {"content-type": content_type}
                return await target.post(url, content=raw, headers=headers)
            fields: dict[str, Any] = {}
            for name, value in zip(own + names, values, strict=False):
                fields.setdefault(name, value)
            if with_token:
                anonymous_token = re.search(
                    r'name="csrf_token" value="([^"]+)"',
                    (await anonymous.get("/report")).text,
                )
                fields["csrf_token"] = tokens.get(who) or (
                    anonymous_token.group(1) if anonymous_token else ""
                )
            return await target.post(url, data=fields)

        response = loop.run_until_complete(send())
        assert response.status_code < 500, (url, response.status_code)

    try:
        one()
    finally:
        for c in (anonymous, admin, lead):
            loop.run_until_complete(c.aclose())
    assert len(seen) >= len(routes) // 2  # the examples reached most routes

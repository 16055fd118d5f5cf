"""The headers that keep pages private, on every kind of answer (SecurityHeaders became a
plain ASGI middleware in issue 16: the 413 and error pages must keep them too)."""

from __future__ import annotations

import httpx

from tests.support.web import login

EXPECTED = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


async def test_every_answer_carries_the_headers(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/report"),
        await client.get("/no-such-page"),
        await client.post("/report", content=b"x" * 70_000),
        await client.post("/report", data={"what": "x"}),  # no token: 403
    ]
    await login(client, "counsellor.a")
    answers.append(await client.get("/console/queue"))
    for response in answers:
        for name, value in EXPECTED.items():
            assert response.headers.get(name) == value, (response.url, name)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert len(answers[0].headers.get_list("set-cookie")) == 1  # the CSRF cookie, once

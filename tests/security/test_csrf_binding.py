"""Issue 16: a form token is bound to the browser's own cookie and, signed in, to its session;
a cookie the service did not issue is replaced, never used to mint tokens."""

from __future__ import annotations

from helpline.crypto import get_keyring
from helpline.web import CSRF_COOKIE
from tests.security.support import client_from, sign_in
from tests.support.web import csrf_from


async def test_a_token_from_another_session_is_refused(app) -> None:  # noqa: ANN001
    async with client_from(app, "192.0.2.30") as mallory, client_from(app, "192.0.2.31") as victim:
        assert (await sign_in(mallory, "counsellor.b")).status_code == 303
        assert (await sign_in(victim, "counsellor.a")).status_code == 303
        # Mallory's cookie and token, planted in the victim's browser (cookie tossing).
        page = await mallory.get("/console/queue")
        token = csrf_from(page.text)
        victim.cookies.set(CSRF_COOKIE, mallory.cookies[CSRF_COOKIE])
        forged = await victim.post(
            "/console/queue/next", data={"csrf_token": token}, follow_redirects=False
        )
        assert forged.status_code == 403
        # The victim's own page works (the planted cookie is a valid seed; its own session).
        own = await victim.get("/console/queue")
        ok = await victim.post(
            "/console/queue/next", data={"csrf_token": csrf_from(own.text)}, follow_redirects=False
        )
        assert ok.status_code != 403


async def test_an_attacker_chosen_cookie_is_replaced(app) -> None:  # noqa: ANN001
    async with client_from(app, "192.0.2.32") as client:
        chosen = "attacker-chosen-seed"
        client.cookies.set(CSRF_COOKIE, chosen)
        page = await client.get("/report")
        issued = page.cookies.get(CSRF_COOKIE)
        assert issued and issued != chosen
        # A token computed for the chosen cookie, as the old scheme minted it, is refused.
        client.cookies.set(CSRF_COOKIE, chosen)
        forged = await client.post(
            "/report",
            data={"csrf_token": get_keyring().keyed_hash("csrf", chosen), "what": "测试"},
        )
        assert forged.status_code in (400, 403) and 'class="receipt"' not in forged.text

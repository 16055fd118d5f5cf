"""Issue 16: a TOTP code signs in once; failures slow down one name from one address and never
lock the owner out; no answer tells a real name from an invented one, or a right password
without its code from a wrong one."""

from __future__ import annotations

from sqlalchemy import func, select

from helpline.db import session_scope
from tests.security.support import client_from, error_of, sign_in
from tests.support.web import DEMO_PASSWORD, totp_now
from triage.login_backoff import LoginBackoff


async def test_a_code_signs_in_once(app) -> None:  # noqa: ANN001
    async with client_from(app, "192.0.2.10") as first, client_from(app, "192.0.2.11") as second:
        code = await totp_now("counsellor.a")
        assert (await sign_in(first, "counsellor.a", code=code)).status_code == 303
        replay = await sign_in(second, "counsellor.a", code=code)
        assert replay.status_code == 401
        assert (await second.get("/console", follow_redirects=False)).status_code == 303


async def test_an_older_code_is_refused_after_a_newer_one(app) -> None:  # noqa: ANN001
    import pyotp

    from triage.models import StaffUser

    async with session_scope() as s:
        secret = (
            await s.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "counsellor.a")
            )
        ).scalar_one()
    totp = pyotp.TOTP(secret)
    import time

    now = time.time()
    async with client_from(app, "192.0.2.12") as client:
        # The code of the current step signs in; the previous step's code (still inside the
        # drift window) may not be used after it.
        assert (await sign_in(client, "counsellor.a", code=totp.at(now))).status_code == 303
        client.cookies.clear()
        older = await sign_in(client, "counsellor.a", code=totp.at(now - 30))
        assert older.status_code == 401


async def test_failures_elsewhere_never_lock_the_owner_out(app) -> None:  # noqa: ANN001
    async with client_from(app, "203.0.113.66") as attacker:
        for _ in range(12):
            r = await sign_in(attacker, "duty.a", password="wrong-guess")
            assert r.status_code == 401
        # The attacker's own address now waits, even with the right password.
        held = await sign_in(attacker, "duty.a")
        assert held.status_code == 401 and "稍后" in error_of(held)
    async with client_from(app, "198.51.100.20") as owner:
        assert (await sign_in(owner, "duty.a")).status_code == 303
        assert (await owner.get("/console")).status_code == 200


async def test_answers_do_not_tell_which_names_exist(app) -> None:  # noqa: ANN001
    async with client_from(app, "203.0.113.70") as client:
        real, invented = [], []
        for _ in range(8):
            real.append(await sign_in(client, "duty.a", password="wrong", code="000000"))
            invented.append(await sign_in(client, "nobody.here", password="wrong", code="000000"))
        assert [(r.status_code, error_of(r)) for r in real] == [
            (r.status_code, error_of(r)) for r in invented
        ]
        assert "稍后" in error_of(real[-1])  # both slowed down alike


async def test_a_right_password_without_its_code_is_an_ordinary_failure(app) -> None:  # noqa: ANN001
    async with client_from(app, "203.0.113.80") as client:
        wrong = await sign_in(client, "counsellor.a", password="not-it", code="")
        missing = await sign_in(client, "counsellor.a", password=DEMO_PASSWORD, code="")
        assert wrong.status_code == missing.status_code == 401
        assert error_of(wrong) == error_of(missing) != ""
    async with session_scope() as s:
        failures = (await s.execute(select(func.sum(LoginBackoff.failures)))).scalar_one()
    assert failures == 2  # the missing code counted as a failure too

"""Staff accounts (issue 17): a password someone else chose is replaced at first sign-in before
any console page opens; recovery codes sign in once instead of a TOTP code; a lost phone is
reset by a second administrator."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from assembly import wiring
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import DEMO_PASSWORD, csrf_from, login
from triage import recovery
from triage.demo import load_orgs_and_staff
from triage.models import StaffUser
from triage.passwords import policy, refusal
from triage.recovery import RecoveryCode

NEW_PASSWORD = "春天的风吹过操场 2026"  # noqa: S105 - test fixture


async def _person(username: str) -> StaffUser:
    async with session_scope() as s:
        return (
            await s.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()


async def _audited(action: str, staff_id: int) -> int:
    async with session_scope() as s:
        return (
            await s.execute(
                select(func.count(AuditEvent.id)).where(
                    AuditEvent.action == action, AuditEvent.object_id == str(staff_id)
                )
            )
        ).scalar_one()


def _fresh(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def _sign_in(c: httpx.AsyncClient, username: str, password: str, code: str) -> httpx.Response:
    page = await c.get("/console/login")
    return await c.post(
        "/console/login",
        data={
            "username": username,
            "password": password,
            "totp": code,
            "csrf_token": csrf_from(page.text),
        },
    )


def _secret_from(page: str) -> tuple[str, str]:
    """The one-time password and the otpauth URI an administrator is shown."""
    password = re.search(r'id="new-password">([^<]+)<', page).group(1)
    uri = re.search(r'id="totp-uri">([^<]+)<', page).group(1).replace("&amp;", "&")
    return password, uri


async def _new_auditor(client: httpx.AsyncClient, username: str) -> tuple[str, str]:
    """An auditor account made by an administrator (at once: no second approval needed)."""
    assert (await login(client, "admin.district")).status_code == 303
    csrf = csrf_from((await client.get("/console/admin/staff")).text)
    made = await client.post(
        "/console/admin/staff",
        data={
            "csrf_token": csrf,
            "username": username,
            "display_name": "新审计",
            "role": "auditor",
            "org": "qp-demo",
        },
    )
    assert made.status_code == 200
    return _secret_from(made.text)


def _console_pages() -> list[str]:
    """Every console GET address without path parameters, but the sign-in and password pages
    and the scripts and style sheets (served to anyone, like /static)."""
    skip = {"/console/login", "/console/account/password"}
    return sorted(
        {
            route.path
            for router in wiring.routers()
            for route in router.routes
            if route.path.startswith("/console")
            and "GET" in getattr(route, "methods", set())
            and "{" not in route.path
            and route.path not in skip
            and not route.path.endswith((".js", ".css"))
        }
    )


async def test_a_new_account_sets_its_own_password_before_any_page_opens(client) -> None:  # noqa: ANN001
    password, uri = await _new_auditor(client, "new.auditor")
    person = await _person("new.auditor")
    assert person.password_must_change
    c = _fresh(client)
    signed = await _sign_in(c, "new.auditor", password, pyotp.parse_uri(uri).now())
    assert signed.status_code == 303
    # Every console page (and any action) sends the account to the password page first: the
    # check is the dependency every page uses, not code in each route.
    pages = _console_pages()
    assert "/console" in pages and "/console/admin/staff" in pages and len(pages) > 8
    for path in pages:
        got = await c.get(path)
        assert got.status_code == 303, path
        assert got.headers["location"] == "/console/account/password", path
    form = await c.get("/console/account/password")
    assert form.status_code == 200 and 'id="password-forced"' in form.text
    csrf = csrf_from(form.text)

    async def change(current: str, new: str, repeat: str | None = None) -> httpx.Response:
        return await c.post(
            "/console/account/password",
            data={"csrf_token": csrf, "current": current, "new": new, "repeat": repeat or new},
        )

    says = policy()["messages"]
    refused = {
        says["wrong_current"]: await change("not-the-password", NEW_PASSWORD),
        says["mismatch"]: await change(password, NEW_PASSWORD, NEW_PASSWORD + "x"),
        says["too_short"].format(n=policy()["min_length"]): await change(password, "short1"),
        says["contains_username"]: await change(password, "my name is new.auditor!"),
        says["common"]: await change(password, "Password 1234"),
        says["same_as_old"]: await change(password, password),
    }
    for sentence, answer in refused.items():
        assert answer.status_code == 400 and sentence in answer.text
    assert (await c.get("/console")).status_code == 303
    assert (await _person("new.auditor")).password_must_change

    done = await change(password, NEW_PASSWORD)
    assert done.status_code == 200
    codes = re.findall(r'class="recovery-code">([^<]+)<', done.text)
    assert len(codes) == policy()["recovery"]["count"] == len(set(codes))
    assert (await c.get("/console")).status_code == 200
    person = await _person("new.auditor")
    assert not person.password_must_change
    assert await _audited("password.changed", person.id) == 1
    assert await _audited("recovery.generated", person.id) == 1
    # Only hashes are stored.
    async with session_scope() as s:
        stored = list(
            (
                await s.execute(
                    select(RecoveryCode.code_hash).where(RecoveryCode.staff_id == person.id)
                )
            ).scalars()
        )
    assert len(stored) == len(codes) and all(h.startswith("$argon2id$") for h in stored)
    assert not any(recovery.normalise(code) in h for code in codes for h in stored)
    # The one-time password no longer signs in; the new one does.
    assert (await _sign_in(_fresh(client), "new.auditor", password, "000000")).status_code == 401


async def test_an_administrators_reset_forces_a_new_password_again(client) -> None:  # noqa: ANN001
    assert (await login(client, "admin.district")).status_code == 303
    auditor = await _person("auditor.district")
    assert not auditor.password_must_change  # demo accounts loaded with --password
    csrf = csrf_from((await client.get("/console/admin/staff")).text)
    reset = await client.post(
        f"/console/admin/staff/{auditor.id}/password", data={"csrf_token": csrf}
    )
    assert reset.status_code == 200
    assert (await _person("auditor.district")).password_must_change


async def test_recovery_codes_sign_in_once_and_can_be_renewed(client) -> None:  # noqa: ANN001
    password, uri = await _new_auditor(client, "codes.auditor")
    c = _fresh(client)
    assert (await _sign_in(c, "codes.auditor", password, pyotp.parse_uri(uri).now())).is_redirect
    form = await c.get("/console/account/password")
    done = await c.post(
        "/console/account/password",
        data={
            "csrf_token": csrf_from(form.text),
            "current": password,
            "new": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
    )
    codes = re.findall(r'class="recovery-code">([^<]+)<', done.text)
    person = await _person("codes.auditor")

    # A code in place of the authenticator's (typed in capitals and without its dash: the same).
    typed = codes[0].replace("-", "").upper()
    d = _fresh(client)
    assert (await _sign_in(d, "codes.auditor", NEW_PASSWORD, typed)).status_code == 303
    account = await d.get("/console/account")
    assert account.status_code == 200
    assert re.search(r'id="codes-left">(\d+)<', account.text).group(1) == str(len(codes) - 1)
    assert await _audited("login.recovery_code", person.id) == 1
    # Each code signs in once; a code needs the password too.
    assert (
        await _sign_in(_fresh(client), "codes.auditor", NEW_PASSWORD, codes[0])
    ).status_code == 401
    assert (
        await _sign_in(_fresh(client), "codes.auditor", "wrong-password-x", codes[1])
    ).status_code == 401

    # New codes void the old ones; the password is asked again.
    csrf = csrf_from(account.text)
    wrong = await d.post(
        "/console/account/recovery-codes", data={"csrf_token": csrf, "current": "nope-nope-nope"}
    )
    assert wrong.status_code == 400
    renewed = await d.post(
        "/console/account/recovery-codes", data={"csrf_token": csrf, "current": NEW_PASSWORD}
    )
    fresh_codes = re.findall(r'class="recovery-code">([^<]+)<', renewed.text)
    assert len(fresh_codes) == len(codes) and not set(fresh_codes) & set(codes)
    assert (
        await _sign_in(_fresh(client), "codes.auditor", NEW_PASSWORD, codes[2])
    ).status_code == 401
    assert (
        await _sign_in(_fresh(client), "codes.auditor", NEW_PASSWORD, fresh_codes[0])
    ).is_redirect
    assert await _audited("recovery.generated", person.id) == 2


async def test_a_lost_phone_is_reset_by_two_administrators(client) -> None:  # noqa: ANN001
    counsellor = await _person("counsellor.a")
    old_secret = counsellor.totp_secret
    async with session_scope() as s:
        await recovery.generate(s, await s.get(StaffUser, counsellor.id))
    assert (await login(client, "admin.district")).status_code == 303
    csrf = csrf_from((await client.get("/console/admin/staff")).text)
    asked = await client.post(
        f"/console/admin/staff/{counsellor.id}/totp", data={"csrf_token": csrf}
    )
    assert asked.status_code == 303 and "grant_requested" in asked.headers["location"]
    assert (await _person("counsellor.a")).totp_secret == old_secret
    page = await client.get("/console/admin/staff")
    assert "重置动态验证码（手机丢失）" in page.text
    grant_id = re.search(r'id="grant-(\d+)"', page.text).group(1)
    mine = await client.post(f"/console/admin/grants/{grant_id}/approve", data={"csrf_token": csrf})
    assert mine.status_code == 400

    client.cookies.clear()
    assert (await login(client, "admin2.district")).status_code == 303
    csrf2 = csrf_from((await client.get("/console/admin/staff")).text)
    approved = await client.post(
        f"/console/admin/grants/{grant_id}/approve", data={"csrf_token": csrf2}
    )
    assert approved.status_code == 200 and 'id="totp-qr"' in approved.text
    password, uri = _secret_from(approved.text)
    after = await _person("counsellor.a")
    assert after.totp_secret != old_secret and after.password_must_change
    assert pyotp.parse_uri(uri).secret == after.totp_secret
    async with session_scope() as s:
        assert await recovery.unused(s, after) == 0
    # The old phone's code no longer works, even with the new password.
    stale = pyotp.TOTP(old_secret).now()
    assert (await _sign_in(_fresh(client), "counsellor.a", password, stale)).status_code == 401
    c = _fresh(client)
    assert (await _sign_in(c, "counsellor.a", password, pyotp.parse_uri(uri).now())).is_redirect
    assert (await c.get("/console/queue")).headers["location"] == "/console/account/password"


async def test_demo_accounts_with_a_printed_password_must_change_it(session) -> None:  # noqa: ANN001
    config = {
        "district": {"code": "qp-demo", "name": "演示区"},
        "schools": [],
        "staff": [
            {"username": "printed.a", "display_name": "甲", "role": "auditor", "org": "qp-demo"}
        ],
    }
    (made,) = await load_orgs_and_staff(session, config, None)
    await session.commit()
    assert made.password and (await _person("printed.a")).password_must_change
    config["staff"][0]["username"] = "chosen.a"
    await load_orgs_and_staff(session, config, DEMO_PASSWORD)
    await session.commit()
    assert not (await _person("chosen.a")).password_must_change


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["new.auditor", "abc", "counsellor.a"]))
def test_the_password_rules_hold_for_any_text(text: str, username: str) -> None:
    rules = policy()
    said = refusal(text, username, None)
    if len(text) < rules["min_length"] or username in "".join(text.split()).lower():
        assert said is not None
    if said is None:
        assert rules["min_length"] <= len(text) <= rules["max_length"]
        assert len(set("".join(text.split()))) > 1


@given(st.integers(min_value=1, max_value=50))
def test_recovery_codes_look_like_codes_and_never_like_totp(_: int) -> None:
    code = recovery._new_code()
    assert recovery.looks_like_code(code) and recovery.looks_like_code(code.upper())
    assert not recovery.looks_like_code(pyotp.TOTP(pyotp.random_base32()).now())


@pytest.mark.parametrize("typed", ["", "123456", "abcde-fghi", "abcde-fghij0", "0o1il-23456"])
def test_what_is_not_a_recovery_code(typed: str) -> None:
    assert not recovery.looks_like_code(typed)

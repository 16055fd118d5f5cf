"""Sign-in hardening and CSRF on every console form.

Every POST route of the assembled console (triage's, escalation's, registers', bot's) is sent a
complete, valid-looking form by a signed-in person who may use it, once without the CSRF token
and once with a forged one: each answers 403 and nothing in the database changes.
"""

from __future__ import annotations

import os

from sqlalchemy import func, select, update

from assembly import wiring
from helpline.db import session_scope
from helpline.settings import reset_settings
from tests.support.web import DEMO_PASSWORD, csrf_from, login
from tests.triage.support import BULLYING, new_case, roster_ids, staff_id
from triage.deps import SESSION_COOKIE
from triage.models import Case, LabelFeedback, Message, Organisation, RoleGrant, StaffUser
from triage.recovery import RecoveryCode


async def _password_only(client, username: str):
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_from(page.text)},
    )


async def test_staff_without_an_enrolled_second_factor_cannot_sign_in(client):
    async with session_scope() as s:
        await s.execute(
            update(StaffUser).where(StaffUser.username == "counsellor.a").values(totp_secret=None)
        )
    r = await _password_only(client, "counsellor.a")
    assert r.status_code == 401 and "尚未设置动态验证码" in r.text
    assert SESSION_COOKIE not in r.cookies
    assert (await client.get("/console", follow_redirects=False)).status_code == 303


async def test_session_cookie_is_httponly_strict_and_secure_behind_https(client):
    r = await login(client, "counsellor.a")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    os.environ["HELPLINE_PUBLIC_URL"] = "https://helpline.example.cn"
    reset_settings()
    try:
        client.cookies.clear()
        # Secure cookies (CSRF and session) come back only over https, as from a real browser
        # behind the proxy.
        client.base_url = "https://testserver"
        r = await login(client, "counsellor.a")
    finally:
        client.base_url = "http://testserver"
        os.environ["HELPLINE_PUBLIC_URL"] = "http://testserver"
        reset_settings()
    session_cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(session_cookie) == 1 and "; secure" in session_cookie[0].lower()


async def test_csrf_cookie_is_secure_behind_https(client):
    os.environ["HELPLINE_PUBLIC_URL"] = "https://helpline.example.cn"
    reset_settings()
    try:
        client.cookies.clear()
        page = await client.get("/report")  # plain http inside, TLS at the proxy
    finally:
        os.environ["HELPLINE_PUBLIC_URL"] = "http://testserver"
        reset_settings()
    csrf = [c for c in page.headers.get_list("set-cookie") if c.startswith("hl_csrf=")]
    assert len(csrf) == 1 and "; secure" in csrf[0].lower() and "httponly" in csrf[0].lower()


def _payloads(other_case: int, staff: int) -> dict[str, dict]:
    """A complete form for each console POST route (by its pattern); only the token is wrong."""
    case = "/console/cases/{case_id}"
    return {
        "/console/logout": {},
        "/console/queue/next": {},
        f"{case}/claim": {},
        f"{case}/release": {},
        f"{case}/reassign": {"assignee": staff},
        f"{case}/reply": {"text": "我们在。"},
        f"{case}/note": {"text": "备注"},
        f"{case}/labels": {"labels": "crisis", "urgency": "emergency"},
        f"{case}/close": {"outcome": "resolved", "disposition": "已处理"},
        f"{case}/merge": {"other": other_case},
        f"{case}/reports/{{report_id}}": {
            "made_to": "校长",
            "made_at": "2026-01-01T08:00",
            "reference": "X-1",
        },
        f"{case}/acknowledge": {},
        "/console/bullying/{case_id}": {"investigation": "completed", "bullying_type": "verbal"},
        "/console/calls/new": {"caller_kind": "parent", "text": BULLYING, "org": "sch-a"},
        "/console/admin/schools": {"code": "sch-x", "name": "伪造学校"},
        "/console/admin/staff": {
            "username": "forged.user",
            "display_name": "伪造",
            "role": "admin",
            "org": "sch-a",
        },
        "/console/admin/staff/{staff_id}/active": {"active": "false"},
        "/console/admin/staff/{staff_id}/password": {},
        "/console/admin/staff/{staff_id}/totp": {},
        "/console/admin/staff/{staff_id}/contact": {"email": "forged@demo.invalid"},
        "/console/account/password": {
            "current": DEMO_PASSWORD,
            "new": "伪造的新密码 forged 2026",
            "repeat": "伪造的新密码 forged 2026",
        },
        "/console/account/recovery-codes": {"current": DEMO_PASSWORD},
        "/console/admin/staff/{staff_id}/role": {"role": "admin"},
        "/console/admin/targets": {"emergency": 1, "high": 2, "medium": 3, "low": 4},
        "/console/alerts/{delivery_id}/acknowledge": {},
        "/console/alerts/test": {},
        "/console/admin/staff/{staff_id}/test-alert": {},
        "/console/admin/grants/{grant_id}/approve": {},
        "/console/admin/grants/{grant_id}/refuse": {},
        "/console/admin/rosters/{code}/shifts": {"staff": staff, "days": "mon", "start": "08:00"},
        "/console/admin/rosters/{code}/shifts/{shift_id}": {"action": "remove"},
        "/console/admin/rosters/{code}/overrides": {"staff": staff},
        "/console/admin/rosters/{code}/overrides/{override_id}/remove": {},
        "/console/admin/rosters/{code}/school": {"name": "伪造学校"},
        "/console/admin/policies/{policy_id}": {"rounds": "1"},
    }


async def _snapshot() -> tuple:
    from escalation.models import DutyOverride, DutyShift, EscalationPolicy, StatutoryReport

    async with session_scope() as s:
        cases = (
            await s.execute(
                select(Case.id, Case.status, Case.assignee_id, Case.labels, Case.urgency)
            )
        ).all()
        staff = (
            await s.execute(
                select(StaffUser.id, StaffUser.role, StaffUser.active, StaffUser.password_hash)
            )
        ).all()
        reports = (await s.execute(select(StatutoryReport.id, StatutoryReport.state))).all()
        reports += (await s.execute(select(RoleGrant.id, RoleGrant.state))).all()
        counts = [
            (await s.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (Message, LabelFeedback, Organisation, RecoveryCode, DutyOverride)
        ]
        roster = (
            await s.execute(
                select(DutyShift.id, DutyShift.staff_id, DutyShift.start, DutyShift.end)
            )
        ).all()
        names = (await s.execute(select(Organisation.id, Organisation.name))).all()
        policies = (await s.execute(select(EscalationPolicy.id, EscalationPolicy.repeat))).all()
    rows = (sorted(roster), sorted(names), sorted(policies))
    return sorted(map(tuple, cases)), sorted(staff), sorted(reports), counts, rows


async def _pending_grant() -> int:
    """A four-eyes request by admin2.district that admin.district could approve (issue 14)."""
    from triage import admin, grants

    async with session_scope() as s:
        other = await s.get(StaffUser, await staff_id("admin2.district"))
        person, _, _ = await admin.create_staff(
            s, other, "pending.lead", "待批准", "safeguarding_lead", "sch-a", None
        )
        grant = await grants.pending_for(s, person)
        assert grant is not None
        return grant.id


async def test_forged_posts_to_every_console_form_are_refused_and_change_nothing(client):
    from escalation.reports import case_reports

    case_id = await new_case(BULLYING, "sch-a", ref="forged-1")
    other = await new_case(BULLYING, "sch-a", ref="forged-1")
    async with session_scope() as s:
        report = (await case_reports(s, case_id))[0].id
    counsellor = await staff_id("counsellor.a")
    patterns = _payloads(other, counsellor)
    grant = await _pending_grant()
    ids = {"case_id": case_id, "report_id": report, "staff_id": counsellor, "grant_id": grant}
    ids["delivery_id"] = 999_999  # the CSRF check comes first: no delivery needed
    ids["code"] = "sch-a"
    ids["shift_id"], ids["override_id"], ids["policy_id"] = await roster_ids("sch-a")
    routes = {
        route.path
        for router in wiring.routers()
        for route in router.routes
        if route.path.startswith("/console")
        and "POST" in (getattr(route, "methods", None) or ())
        and route.path != "/console/login"  # the kernel's tests/helpline/test_login.py
    }
    assert set(patterns) == routes, "a console form is not covered"
    payloads = {pattern.format(**ids): data for pattern, data in patterns.items()}

    before = await _snapshot()
    for username in ("lead.a", "admin.district"):
        client.cookies.clear()
        assert (await login(client, username)).status_code == 303
        for url, data in payloads.items():
            if url.startswith("/console/admin") != (username == "admin.district"):
                continue
            for token in (None, "forged-token"):
                form = dict(data) | ({"csrf_token": token} if token else {})
                r = await client.post(url, data=form, follow_redirects=False)
                assert r.status_code == 403, (username, url, token, r.status_code)
                assert "表单已过期" in r.text, (username, url)
    assert await _snapshot() == before
    # Still signed in: the forged logout did nothing either.
    assert (await client.get("/console/admin/staff")).status_code == 200

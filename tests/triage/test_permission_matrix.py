"""Every console route x every role x own school / other school / restricted case.

The expectations are written out here by hand (not computed with triage.permissions), so the
test fails if the module drifts from the documented matrix (docs/triage.md). Allowed means a
status other than 403/404 (a 400 for an invalid form still proves the door was open); denied
means exactly 403 or 404. Content is checked on the case page itself.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.web import csrf_from, login
from tests.triage.support import (
    BULLYING,
    SEXUAL_ABUSE,
    load_case,
    new_call,
    new_case,
    roster_ids,
    staff_id,
)

OWN, OTHER, RESTRICTED = "own", "other", "restricted"
# A call hotline.district logged: a bullying case of sch-a. For everyone else it is a case of
# sch-a like OWN; the operator may read it and add notes until a counsellor takes it (issue 14).
CALL = "call"
ALL = {OWN, OTHER, RESTRICTED, CALL}
NONE: set[str] = set()

# username -> what that person may do; case routes list the case kinds where they may.
MATRIX: dict[str, dict[str, object]] = {
    "counsellor.a": {
        "queue": True,
        "next": True,
        "admin": False,
        "audit": NONE,
        "row": {OWN, CALL, RESTRICTED},
        "content": {OWN, CALL},
        "claim": {OWN, CALL},
        "release": {OWN, CALL},
        "reassign": NONE,
        "act": {OWN, CALL},
    },
    "lead.a": {
        "queue": True,
        "next": True,
        "admin": False,
        "audit": NONE,
        "row": {OWN, CALL, RESTRICTED},
        "content": {OWN, CALL, RESTRICTED},
        "claim": {OWN, CALL, RESTRICTED},
        "release": {OWN, CALL, RESTRICTED},
        "reassign": {OWN, CALL, RESTRICTED},
        "act": {OWN, CALL, RESTRICTED},
    },
    "duty.a": {
        "queue": True,
        "next": False,
        "admin": False,
        "audit": NONE,
        "row": {OWN, CALL, RESTRICTED},
        "content": {OWN, CALL},
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
    },
    "duty.district": {
        "queue": True,
        "next": False,
        "admin": False,
        "audit": NONE,
        "row": ALL,
        "content": {OWN, OTHER, CALL},
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
    },
    "hotline.district": {
        "queue": False,
        "next": False,
        "admin": False,
        "audit": NONE,
        "row": {CALL},
        "content": {CALL},
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
        "note": {CALL},  # adds to the call they logged, without taking it
    },
    "admin.district": {
        "queue": False,
        "next": False,
        "admin": True,
        "audit": NONE,
        "row": NONE,
        "content": NONE,
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
    },
    "auditor.district": {
        "queue": False,
        "next": False,
        "admin": False,
        "audit": ALL,
        "row": NONE,
        "content": NONE,
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
    },
}

CONTENT_MARKER = "对话与内部备注"


async def _cases() -> dict[str, int]:
    """The four cases each person is tried against (the call logged by hotline.district)."""
    return {
        OWN: await new_case(BULLYING, "sch-a"),
        OTHER: await new_case(BULLYING, "sch-b"),
        RESTRICTED: await new_case(SEXUAL_ABUSE, "sch-a"),
        CALL: await new_call(BULLYING, "sch-a", await staff_id("hotline.district")),
    }


async def _grant_by_the_other_admin() -> int:
    """A pending request by admin2.district (admin.district may decide it; nobody else)."""
    from helpline.db import session_scope
    from triage import admin, grants
    from triage.models import StaffUser

    async with session_scope() as s:
        other = await s.get(StaffUser, await staff_id("admin2.district"))
        person, _, _ = await admin.create_staff(
            s, other, "asked.lead", "待批准", "safeguarding_lead", "sch-a", None
        )
        grant = await grants.pending_for(s, person)
        assert grant is not None
        return grant.id


def _ok(status: int) -> bool:
    return status not in (403, 404) and status < 500


def _check(failures: list[str], what: str, status: int, allowed: bool) -> None:
    if allowed and not _ok(status):
        failures.append(f"{what}: expected allowed, got {status}")
    if not allowed and status not in (403, 404):
        failures.append(f"{what}: expected 403/404, got {status}")


@pytest.mark.parametrize("username", list(MATRIX))
async def test_permission_matrix(client, username):
    cases = await _cases()
    numbers = {kind: f"{cid}" for kind, cid in cases.items()}
    counsellor_a, counsellor_b = await staff_id("counsellor.a"), await staff_id("counsellor.b")
    expect = MATRIX[username]
    assert (await login(client, username)).status_code == 303
    home = await client.get("/console")
    assert home.status_code == 200
    csrf = csrf_from(home.text)
    failures: list[str] = []

    async def post(url: str, **data: object) -> int:
        response = await client.post(url, data={"csrf_token": csrf, **data})
        return response.status_code

    _check(failures, "GET queue", (await client.get("/console/queue")).status_code, expect["queue"])
    live = await client.get("/console/queue/live")
    _check(failures, "GET queue live", live.status_code, expect["queue"])
    for kind, cid in cases.items():
        page = await client.get(f"/console/cases/{cid}")
        _check(failures, f"GET case {kind}", page.status_code, kind in expect["row"])
        live = await client.get(f"/console/cases/{cid}/live")
        _check(failures, f"GET case live {kind}", live.status_code, kind in expect["row"])
        shows = page.status_code == 200 and CONTENT_MARKER in page.text
        if shows != (kind in expect["content"]):
            failures.append(f"content of {kind}: shown={shows}")
        if page.status_code == 200 and kind == RESTRICTED and not shows:
            assert SEXUAL_ABUSE not in page.text and "性侵害" not in page.text
        audit = await client.get(f"/console/audit?case={numbers[kind]}")
        _check(failures, f"GET audit {kind}", audit.status_code, kind in expect["audit"])
    for kind, cid in cases.items():
        base = f"/console/cases/{cid}"
        _check(failures, f"claim {kind}", await post(f"{base}/claim"), kind in expect["claim"])
        _check(
            failures, f"release {kind}", await post(f"{base}/release"), kind in expect["release"]
        )
        _check(
            failures,
            f"reassign {kind}",
            await post(f"{base}/reassign", assignee=counsellor_a),
            kind in expect["reassign"],
        )
        acts = {
            "reply": {"text": "我们在，请说说发生了什么。"},
            "note": {"text": "备注"},
            "labels": {"labels": "bullying", "urgency": "high"},
            "merge": {"other": cid},
            "close": {"outcome": "resolved", "disposition": "已处理"},
        }
        for action, data in acts.items():
            status = await post(f"{base}/{action}", **data)
            allowed = expect.get(action, expect["act"])
            _check(failures, f"{action} {kind}", status, kind in allowed)  # type: ignore[operator]
    _check(failures, "take next", await post("/console/queue/next"), expect["next"])
    for url in ("/console/account", "/console/account/password"):
        _check(failures, f"GET {url}", (await client.get(url)).status_code, True)
    grant_id = await _grant_by_the_other_admin()
    admin = expect["admin"]
    admin_pages = (
        "schools",
        "staff",
        "targets",
        "coverage",
        "rosters",
        "rosters/sch-a",
        "rosters/sch-a/school",
        "policies",
        "config.yaml",
    )
    shift_id, override_id, policy_id = await roster_ids("sch-a")
    contact = f"/console/admin/staff/{counsellor_b}/contact"
    _check(failures, f"GET {contact}", (await client.get(contact)).status_code, admin)
    for url in (f"/console/admin/{page}" for page in admin_pages):
        _check(failures, f"GET {url}", (await client.get(url)).status_code, admin)
    admin_posts = {
        "/console/admin/schools": {"code": "sch-new", "name": "新学校"},
        "/console/admin/staff": {
            "username": "new.person",
            "display_name": "新老师",
            "role": "counsellor",
            "org": "sch-a",
        },
        f"/console/admin/staff/{counsellor_b}/role": {"role": "counsellor"},
        f"/console/admin/staff/{counsellor_b}/password": {},
        f"/console/admin/staff/{counsellor_b}/totp": {},
        f"/console/admin/staff/{counsellor_b}/contact": {"email": "b.new@demo.invalid"},
        f"/console/admin/staff/{counsellor_b}/active": {"active": "false"},
        "/console/admin/targets": {"emergency": 5, "high": 30, "medium": 240, "low": 1440},
        f"/console/admin/grants/{grant_id}/approve": {},
        f"/console/admin/grants/{grant_id}/refuse": {},  # 400 once approved: the door was open
        # Empty forms: 400 for an administrator (the door was open), nothing changed.
        "/console/admin/rosters/sch-a/shifts": {},
        f"/console/admin/rosters/sch-a/shifts/{shift_id}": {},
        "/console/admin/rosters/sch-a/overrides": {},
        "/console/admin/rosters/sch-a/school": {},
        f"/console/admin/policies/{policy_id}": {},
        f"/console/admin/rosters/sch-a/overrides/{override_id}/remove": {},
    }
    for url, data in admin_posts.items():
        _check(failures, f"POST {url}", await post(url, **data), admin)
    assert not failures, "\n".join(failures)
    await _no_content_account_from_one_admin()


async def _no_content_account_from_one_admin() -> None:
    """Whoever posted above: the counsellor account asked for is not active, the password of
    counsellor.b is unchanged, and only admin.district (not the requester) approved a grant."""
    from helpline.db import session_scope
    from triage.models import RoleGrant, StaffUser

    async with session_scope() as s:
        new = (
            await s.execute(select(StaffUser).where(StaffUser.username == "new.person"))
        ).scalar_one_or_none()
        assert new is None or not new.active
        for grant in (await s.execute(select(RoleGrant))).scalars():
            if grant.state == "approved":
                assert grant.decided_by_id != grant.requested_by_id


# The console routes that other packages add (escalation, registers, bot), same people, same
# three cases, plus one scheduled-delivery file of sch-a and one of sch-b. Written out by hand
# from docs/escalation.md, docs/registers.md and docs/intake.md.
OWN_SEND, OTHER_SEND = "own_send", "other_send"
PLUGIN_MATRIX: dict[str, dict[str, object]] = {
    "counsellor.a": {
        "deadlines": True,
        "record": {OWN, CALL, RESTRICTED},
        "acknowledge": {OWN, CALL, RESTRICTED},
        "fast_report": {OWN, CALL},
        "attachment": {OWN, CALL},
        "statistics": False,
        "compliance": False,
        "register": False,
        "register_edit": NONE,
        "deliveries": NONE,
        "calls": True,
    },
    "lead.a": {
        "deadlines": True,
        "record": {OWN, CALL, RESTRICTED},
        "acknowledge": {OWN, CALL, RESTRICTED},
        "fast_report": {OWN, CALL, RESTRICTED},
        "attachment": {OWN, CALL, RESTRICTED},
        "statistics": True,
        "compliance": True,
        "register": True,
        "register_edit": {OWN, CALL},  # the own school's bullying case; the restricted one is not
        "deliveries": {OWN_SEND},
        "calls": True,
    },
    "duty.a": {
        "deadlines": True,
        "record": {OWN, CALL, RESTRICTED},
        "acknowledge": {OWN, CALL, RESTRICTED},
        "fast_report": {OWN, CALL},
        "attachment": {OWN, CALL},
        "statistics": False,
        "compliance": True,
        "register": False,
        "register_edit": NONE,
        "deliveries": NONE,
        "calls": True,
    },
    "duty.district": {
        "deadlines": True,
        "record": ALL,
        "acknowledge": ALL,
        "fast_report": {OWN, OTHER, CALL},
        "attachment": {OWN, OTHER, CALL},
        "statistics": False,
        "compliance": True,
        "register": False,
        "register_edit": NONE,
        "deliveries": NONE,
        "calls": True,
    },
    "hotline.district": {
        "deadlines": False,
        "record": NONE,
        "acknowledge": NONE,
        "fast_report": NONE,
        "attachment": {CALL},  # content of their own call
        "statistics": False,
        "compliance": False,
        "register": False,
        "register_edit": NONE,
        "deliveries": NONE,
        "calls": True,
    },
    "admin.district": {
        "deadlines": False,
        "record": NONE,
        "acknowledge": NONE,
        "fast_report": NONE,
        "attachment": NONE,
        "statistics": True,
        "compliance": True,
        "register": True,
        "register_edit": NONE,  # read-only
        "deliveries": {OWN_SEND, OTHER_SEND},
        "calls": False,
    },
    "auditor.district": {
        "deadlines": False,
        "record": NONE,
        "acknowledge": NONE,
        "fast_report": NONE,
        "attachment": NONE,
        "statistics": True,
        "compliance": True,
        "register": True,
        "register_edit": NONE,
        "deliveries": {OWN_SEND, OTHER_SEND},
        "calls": False,
    },
}

# Every /console route of the assembled app and the test that covers it. A route added anywhere
# without a line here fails test_every_console_route_is_in_the_matrix.
COVERED_ROUTES = {
    ("GET", "/console"): "home",
    ("GET", "/console/login"): "public",
    ("POST", "/console/login"): "public",
    ("POST", "/console/logout"): "any signed-in",
    ("GET", "/console/assets/console.css"): "public",
    ("GET", "/console/assets/live.js"): "public",
    # Each person's own console alerts (tests/escalation/test_console_alerts.py).
    ("GET", "/console/alerts"): "any signed-in",
    ("GET", "/console/alerts/live"): "any signed-in",
    ("GET", "/console/alerts/live.js"): "public",
    ("POST", "/console/alerts/{delivery_id}/acknowledge"): "any signed-in",
    ("POST", "/console/alerts/test"): "any signed-in",
    ("POST", "/console/admin/staff/{staff_id}/test-alert"): "admin",
    ("GET", "/console/queue"): "queue",
    ("GET", "/console/queue/live"): "queue",
    ("POST", "/console/queue/next"): "next",
    ("POST", "/console/cases/{case_id}/claim"): "claim",
    ("POST", "/console/cases/{case_id}/release"): "release",
    ("POST", "/console/cases/{case_id}/reassign"): "reassign",
    ("GET", "/console/cases/{case_id}"): "row/content",
    ("GET", "/console/cases/{case_id}/live"): "row",
    ("POST", "/console/cases/{case_id}/reply"): "act",
    ("POST", "/console/cases/{case_id}/note"): "act",
    ("POST", "/console/cases/{case_id}/labels"): "act",
    ("POST", "/console/cases/{case_id}/close"): "act",
    ("POST", "/console/cases/{case_id}/merge"): "act",
    ("GET", "/console/audit"): "audit",
    ("GET", "/console/admin/schools"): "admin",
    ("POST", "/console/admin/schools"): "admin",
    ("GET", "/console/admin/staff"): "admin",
    ("POST", "/console/admin/staff"): "admin",
    ("POST", "/console/admin/staff/{staff_id}/active"): "admin",
    ("POST", "/console/admin/staff/{staff_id}/password"): "admin",
    ("POST", "/console/admin/staff/{staff_id}/role"): "admin",
    ("POST", "/console/admin/staff/{staff_id}/totp"): "admin (four eyes)",
    ("GET", "/console/admin/staff/{staff_id}/contact"): "admin (escalation's alert addresses)",
    ("POST", "/console/admin/staff/{staff_id}/contact"): "admin (escalation's alert addresses)",
    ("GET", "/console/account"): "own account (everyone signed in)",
    ("GET", "/console/account/password"): "own account (everyone signed in)",
    ("POST", "/console/account/password"): "own account (everyone signed in)",
    ("POST", "/console/account/recovery-codes"): "own account (everyone signed in)",
    ("GET", "/console/admin/targets"): "admin",
    # Self-serve administration of escalation (issue 17, tests/escalation/test_*_editor.py).
    ("GET", "/console/admin/rosters"): "admin",
    ("GET", "/console/admin/rosters/{code}"): "admin",
    ("POST", "/console/admin/rosters/{code}/shifts"): "admin",
    ("POST", "/console/admin/rosters/{code}/shifts/{shift_id}"): "admin",
    ("POST", "/console/admin/rosters/{code}/overrides"): "admin",
    ("POST", "/console/admin/rosters/{code}/overrides/{override_id}/remove"): "admin",
    ("GET", "/console/admin/rosters/{code}/school"): "admin",
    ("POST", "/console/admin/rosters/{code}/school"): "admin",
    ("GET", "/console/admin/policies"): "admin",
    ("POST", "/console/admin/policies/{policy_id}"): "admin",
    ("GET", "/console/admin/config.yaml"): "admin",
    ("GET", "/console/admin/coverage"): "admin (escalation's coverage table)",
    ("POST", "/console/admin/targets"): "admin",
    ("POST", "/console/admin/grants/{grant_id}/approve"): "admin (four eyes)",
    ("POST", "/console/admin/grants/{grant_id}/refuse"): "admin (four eyes)",
    ("GET", "/console/deadlines"): "deadlines",
    ("POST", "/console/cases/{case_id}/reports/{report_id}"): "record",
    ("POST", "/console/cases/{case_id}/acknowledge"): "acknowledge",
    ("GET", "/console/cases/{case_id}/fast-report"): "fast_report",
    ("GET", "/console/cases/{case_id}/fast-report.docx"): "fast_report",
    ("GET", "/console/attachments/{attachment_id}"): "attachment",
    ("GET", "/console/statistics"): "statistics",
    ("GET", "/console/statistics/export.{fmt}"): "statistics",
    ("GET", "/console/statistics/deliveries/{send_id}/{name}"): "deliveries",
    ("GET", "/console/compliance"): "compliance",
    ("GET", "/console/compliance/export.{fmt}"): "compliance",
    ("GET", "/console/bullying"): "register",
    ("GET", "/console/bullying/export.xlsx"): "register",
    ("GET", "/console/bullying/{case_id}"): "register_edit",
    ("POST", "/console/bullying/{case_id}"): "register_edit",
    ("GET", "/console/calls/new"): "calls",
    ("POST", "/console/calls/new"): "calls",
}


def test_every_console_route_is_in_the_matrix():
    from assembly import wiring

    # The routers the app factory includes (what assembly.app.create_app serves).
    routes = [route for router in wiring.routers() for route in router.routes]
    found = {
        (method, route.path)
        for route in routes
        if getattr(route, "path", "").startswith("/console")
        for method in getattr(route, "methods", ()) or ()
        if method in ("GET", "POST")
    }
    assert found - set(COVERED_ROUTES) == set(), "console routes missing from the matrix"
    assert set(COVERED_ROUTES) - found == set(), "matrix lists routes the app no longer has"


async def _plugin_fixtures(cases: dict[str, int]) -> tuple[dict[str, int], dict[str, int], dict]:
    """A statutory report id and an attachment per case; a delivered file of sch-a and sch-b."""
    from bot import attachments
    from escalation.reports import case_reports
    from helpline.db import session_scope
    from registers.bundle import write
    from registers.models import ScheduledSend
    from registers.schedule import delivery_folder
    from triage.models import Case, Organisation

    reports: dict[str, int] = {}
    files: dict[str, int] = {}
    sends: dict[str, int] = {}
    async with session_scope() as s:
        for kind, cid in cases.items():
            found = await case_reports(s, cid)
            reports[kind] = found[0].id if found else 999_999
            case = await s.get(Case, cid)
            files[kind] = (await attachments.store(s, case, "photo", "image/png", b"\x89PNG")).id
        for kind, code in ((OWN_SEND, "sch-a"), (OTHER_SEND, "sch-b")):
            org = (
                await s.execute(select(Organisation).where(Organisation.code == code))
            ).scalar_one()
            send = ScheduledSend(org_id=org.id, month="2026-01", day=13, files=["statistics.csv"])
            s.add(send)
            await s.flush()
            write({"statistics.csv": b"x"}, delivery_folder(code, "2026-01", 13))
            sends[kind] = send.id
    return reports, files, sends


@pytest.mark.parametrize("username", list(PLUGIN_MATRIX))
async def test_permission_matrix_of_other_packages_routes(client, username):
    cases = await _cases()
    reports, files, sends = await _plugin_fixtures(cases)
    expect = PLUGIN_MATRIX[username]
    assert (await login(client, username)).status_code == 303
    csrf = csrf_from((await client.get("/console")).text)
    failures: list[str] = []

    async def get(url: str) -> int:
        return (await client.get(url)).status_code

    async def post(url: str, **data: object) -> int:
        return (await client.post(url, data={"csrf_token": csrf, **data})).status_code

    for kind, cid in cases.items():
        base = f"/console/cases/{cid}"
        # An empty record form: 400 where the door is open, nothing recorded anywhere.
        status = await post(f"{base}/reports/{reports[kind]}", made_to="", reference="")
        _check(failures, f"record {kind}", status, kind in expect["record"])
        status = await post(f"{base}/acknowledge")
        _check(failures, f"acknowledge {kind}", status, kind in expect["acknowledge"])
        for url in (f"{base}/fast-report", f"{base}/fast-report.docx"):
            _check(failures, f"GET {url} {kind}", await get(url), kind in expect["fast_report"])
        status = await get(f"/console/attachments/{files[kind]}")
        _check(failures, f"attachment {kind}", status, kind in expect["attachment"])
        for status, what in (
            (await get(f"/console/bullying/{cid}"), "GET"),
            (await post(f"/console/bullying/{cid}", investigation="nonsense"), "POST"),
        ):
            _check(failures, f"{what} register {kind}", status, kind in expect["register_edit"])
    for url in (
        "/console/statistics",
        "/console/statistics/export.csv",
        "/console/statistics/export.xlsx",
    ):
        _check(failures, f"GET {url}", await get(url), expect["statistics"])
    for url in ("/console/compliance", "/console/compliance/export.csv"):
        _check(failures, f"GET {url}", await get(url), expect["compliance"])
    for url in ("/console/bullying", "/console/bullying/export.xlsx"):
        _check(failures, f"GET {url}", await get(url), expect["register"])
    for kind, send_id in sends.items():
        status = await get(f"/console/statistics/deliveries/{send_id}/statistics.csv")
        _check(failures, f"delivery {kind}", status, kind in expect["deliveries"])
    _check(failures, "GET calls", await get("/console/calls/new"), expect["calls"])
    _check(failures, "POST calls (empty)", await post("/console/calls/new"), expect["calls"])
    assert not failures, "\n".join(failures)


async def test_deadline_board_permissions(client):
    """Escalation's board, per role. The case is a restricted one of sch-b: of these people only
    duty.district has it in scope, and as a row without content."""
    number = (await load_case(await new_case(SEXUAL_ABUSE, "sch-b"))).number
    failures: list[str] = []
    for username, expect in PLUGIN_MATRIX.items():
        client.cookies.clear()
        assert (await login(client, username)).status_code == 303
        board = await client.get("/console/deadlines")
        _check(failures, f"deadlines {username}", board.status_code, expect["deadlines"])
        if board.status_code == 200:
            assert (number in board.text) == (username == "duty.district"), username
            assert "性侵害" not in board.text
    assert not failures, "\n".join(failures)


async def test_deadline_board_lists_an_unrestricted_case(client):
    number = (await load_case(await new_case(BULLYING, "sch-a"))).number
    await login(client, "duty.a")
    board = await client.get("/console/deadlines")
    assert board.status_code == 200 and number in board.text
    assert "欺凌" in board.text  # its category, in words, for a viewer who may see it

"""Every console route x every role x own school / other school / restricted case.

The expectations are written out here by hand (not computed with triage.permissions), so the
test fails if the module drifts from the documented matrix (docs/triage.md). Allowed means a
status other than 403/404 (a 400 for an invalid form still proves the door was open); denied
means exactly 403 or 404. Content is checked on the case page itself.
"""

from __future__ import annotations

import pytest

from tests.conftest import csrf_from, login
from tests.triage.support import BULLYING, SEXUAL_ABUSE, new_case, staff_id

OWN, OTHER, RESTRICTED = "own", "other", "restricted"
ALL = {OWN, OTHER, RESTRICTED}
NONE: set[str] = set()

# username -> what that person may do; case routes list the case kinds where they may.
MATRIX: dict[str, dict[str, object]] = {
    "counsellor.a": {
        "queue": True,
        "next": True,
        "admin": False,
        "audit": NONE,
        "row": {OWN, RESTRICTED},
        "content": {OWN},
        "claim": {OWN},
        "release": {OWN},
        "reassign": NONE,
        "act": {OWN},
    },
    "lead.a": {
        "queue": True,
        "next": True,
        "admin": False,
        "audit": NONE,
        "row": {OWN, RESTRICTED},
        "content": {OWN, RESTRICTED},
        "claim": {OWN, RESTRICTED},
        "release": {OWN, RESTRICTED},
        "reassign": {OWN, RESTRICTED},
        "act": {OWN, RESTRICTED},
    },
    "duty.a": {
        "queue": True,
        "next": False,
        "admin": False,
        "audit": NONE,
        "row": {OWN, RESTRICTED},
        "content": {OWN},
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
        "content": {OWN, OTHER},
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
        "row": NONE,
        "content": NONE,
        "claim": NONE,
        "release": NONE,
        "reassign": NONE,
        "act": NONE,
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


def _ok(status: int) -> bool:
    return status not in (403, 404) and status < 500


def _check(failures: list[str], what: str, status: int, allowed: bool) -> None:
    if allowed and not _ok(status):
        failures.append(f"{what}: expected allowed, got {status}")
    if not allowed and status not in (403, 404):
        failures.append(f"{what}: expected 403/404, got {status}")


@pytest.mark.parametrize("username", list(MATRIX))
async def test_permission_matrix(client, username):
    cases = {
        OWN: await new_case(BULLYING, "sch-a"),
        OTHER: await new_case(BULLYING, "sch-b"),
        RESTRICTED: await new_case(SEXUAL_ABUSE, "sch-a"),
    }
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
    for kind, cid in cases.items():
        page = await client.get(f"/console/cases/{cid}")
        _check(failures, f"GET case {kind}", page.status_code, kind in expect["row"])
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
            _check(failures, f"{action} {kind}", status, kind in expect["act"])
    _check(failures, "take next", await post("/console/queue/next"), expect["next"])
    admin = expect["admin"]
    for url in ("/console/admin/schools", "/console/admin/staff", "/console/admin/targets"):
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
        f"/console/admin/staff/{counsellor_b}/active": {"active": "false"},
        "/console/admin/targets": {"emergency": 5, "high": 30, "medium": 240, "low": 1440},
    }
    for url, data in admin_posts.items():
        _check(failures, f"POST {url}", await post(url, **data), admin)
    assert not failures, "\n".join(failures)

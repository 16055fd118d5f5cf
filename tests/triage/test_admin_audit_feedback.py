"""Administration, the auditor's page, response-target overrides and the feedback export."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from helpline.audit import AuditEvent, verify_chain
from helpline.db import session_scope
from tests.support.web import csrf_from, login
from tests.triage.support import BULLYING, load_case, new_case
from triage import feedback
from triage.models import RoleGrant, StaffUser


async def _csrf(client) -> str:
    return csrf_from((await client.get("/console")).text)


async def test_admin_sets_targets_that_new_cases_use(client):
    await login(client, "admin.district")
    page = await client.get("/console/admin/targets")
    assert page.status_code == 200 and 'value="30"' in page.text
    data = {"emergency": 3, "high": 20, "medium": 120, "low": 600}
    r = await client.post(
        "/console/admin/targets", data={"csrf_token": await _csrf(client), **data}
    )
    assert r.status_code == 303
    bad = {"emergency": 60, "high": 20, "medium": 120, "low": 600}
    r = await client.post("/console/admin/targets", data={"csrf_token": await _csrf(client), **bad})
    assert r.status_code == 400  # a more urgent level may not have a longer target
    case = await load_case(await new_case(BULLYING))
    minutes = {"emergency": 3, "high": 20, "medium": 120, "low": 600}[case.urgency]
    assert case.first_response_due - case.received_at == timedelta(minutes=minutes)


async def test_admin_creates_account_that_can_log_in(client):
    await login(client, "admin.district")
    r = await client.post(
        "/console/admin/staff",
        data={
            "csrf_token": await _csrf(client),
            "username": "counsellor.c",
            "display_name": "陈老师",
            "role": "counsellor",
            "org": "sch-b",
        },
    )
    # Issue 14 (four eyes): a counsellor account is a request; a second admin approves it and
    # is the one handed the credentials (tests/triage/test_four_eyes.py has the whole rule).
    assert r.status_code == 303 and "grant_requested" in r.headers["location"]
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == "counsellor.c"))
        ).scalar_one()
        grant = (
            await s.execute(select(RoleGrant).where(RoleGrant.staff_id == staff.id))
        ).scalar_one()
    client.cookies.clear()
    await login(client, "admin2.district")
    r = await client.post(
        f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": await _csrf(client)}
    )
    assert r.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    assert "otpauth://" in r.text
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == "counsellor.c"))
        ).scalar_one()
        assert staff.password_hash != password and staff.org.code == "sch-b" and staff.active
    r = await client.post(
        f"/console/admin/staff/{staff.id}/active",
        data={"csrf_token": await _csrf(client), "active": "false"},
    )
    assert r.status_code == 303
    client.cookies.clear()
    assert (await login(client, "counsellor.c", password)).status_code == 401


async def test_admin_cannot_demote_self(client):
    await login(client, "admin.district")
    async with session_scope() as s:
        me = (
            await s.execute(select(StaffUser.id).where(StaffUser.username == "admin.district"))
        ).scalar_one()
    r = await client.post(
        f"/console/admin/staff/{me}/role",
        data={"csrf_token": await _csrf(client), "role": "auditor"},
    )
    assert r.status_code == 400


async def test_auditor_reads_who_saw_a_case_without_content(client):
    case_id = await new_case(BULLYING)
    number = (await load_case(case_id)).number
    await login(client, "counsellor.a")
    await client.get(f"/console/cases/{case_id}")
    client.cookies.clear()
    await login(client, "auditor.district")
    page = await client.get(f"/console/audit?case={number}")
    assert page.status_code == 200
    assert "查看个案" in page.text and "王老师" in page.text
    assert BULLYING not in page.text
    assert (await client.get(f"/console/cases/{case_id}")).status_code == 403
    async with session_scope() as s:
        actions = (
            (await s.execute(select(AuditEvent.action).where(AuditEvent.object_id == str(case_id))))
            .scalars()
            .all()
        )
        assert "audit.viewed" in actions and "case.viewed" in actions
        assert (await verify_chain(s)).ok


async def test_export_feedback_writes_rasa_training_data(client, tmp_path):
    case_id = await new_case("同学天天打我，还抢我的钱，我电话13812345678")
    await login(client, "counsellor.a")
    r = await client.post(
        f"/console/cases/{case_id}/labels",
        data={
            "csrf_token": await _csrf(client),
            "labels": ["bullying", "crisis"],
            "urgency": "high",
        },
    )
    assert r.status_code == 303
    out = tmp_path / "feedback.yml"
    count = await feedback.export(out)
    assert count == 1
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    [block] = data["nlu"]
    assert block["intent"] == "bullying+crisis" and block["metadata"] == {"urgency": "high"}
    assert "同学天天打我" in block["examples"] and "13812345678" not in block["examples"]
    async with session_scope() as s:
        exported = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "feedback.exported"))
        ).scalar_one()
        assert exported.details["examples"] == 1


async def test_helpline_nlu_export_feedback_command_writes_the_newest_correction(client, tmp_path):
    case_id = await new_case("同学天天打我，还抢我的钱，我电话13812345678")
    await login(client, "counsellor.a")
    for labels, urgency in ((["crisis"], "medium"), (["bullying", "crisis"], "high")):
        r = await client.post(
            f"/console/cases/{case_id}/labels",
            data={"csrf_token": await _csrf(client), "labels": labels, "urgency": urgency},
        )
        assert r.status_code == 303
    out = tmp_path / "nlu_feedback.yml"
    helpline = Path(sys.executable).parent / "helpline"
    result = subprocess.run(
        [str(helpline), "nlu", "export-feedback", "--out", str(out)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 1 examples" in result.stdout
    [block] = yaml.safe_load(out.read_text(encoding="utf-8"))["nlu"]
    assert block["intent"] == "bullying+crisis" and block["metadata"] == {"urgency": "high"}
    assert "13812345678" not in out.read_text(encoding="utf-8")


async def test_views_exports_changes_and_logins_are_audited(client):
    case_id = await new_case(BULLYING)
    number = (await load_case(case_id)).number
    await login(client, "lead.a")
    await client.get("/console/queue")
    await client.get(f"/console/cases/{case_id}")
    await client.post(
        f"/console/cases/{case_id}/note",
        data={"csrf_token": await _csrf(client), "text": "约谈甲同学家长"},
    )
    await client.get("/console/statistics/export.csv")
    client.cookies.clear()
    await login(client, "admin.district")
    await client.post(
        "/console/admin/schools",
        data={"csrf_token": await _csrf(client), "code": "sch-audit", "name": "审计测试学校"},
    )
    client.cookies.clear()
    await login(client, "auditor.district")
    page = await client.get(f"/console/audit?case={number}")
    assert (
        "张主任" in page.text and "添加内部备注" in page.text and "约谈甲同学家长" not in page.text
    )
    async with session_scope() as s:
        actions = set((await s.execute(select(AuditEvent.action))).scalars())
        assert (await verify_chain(s)).ok
    want = {
        "login",
        "queue.viewed",
        "case.viewed",
        "case.note_added",
        "statistics.exported",
        "org.created",
        "audit.viewed",
    }
    assert want <= actions, want - actions

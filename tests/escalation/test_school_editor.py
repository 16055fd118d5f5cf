"""A school's name and fallback edited in the console (issue 17): the coverage check refuses a
change that leaves a kind of case at the school with nobody who may take it (its words, nothing
saved); a saved change is audited with field names only; the page lists the school's people
with their alert-address pages."""

from __future__ import annotations

from sqlalchemy import select

from escalation import coverage
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import csrf_from, login
from triage.models import Organisation


async def _school(code: str) -> Organisation:
    async with session_scope() as s:
        return (await s.execute(select(Organisation).where(Organisation.code == code))).scalar_one()


async def _events() -> list[AuditEvent]:
    async with session_scope() as s:
        found = await s.execute(select(AuditEvent).where(AuditEvent.action == "school.changed"))
        return list(found.scalars())


async def test_a_school_is_renamed_and_a_fallback_that_is_needed_stays(client) -> None:  # noqa: ANN001
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get("/console/admin/rosters/sch-b/school")
    assert page.status_code == 200 and 'id="school-people"' in page.text
    assert "/contact" in page.text and "钱值班" in page.text
    csrf = csrf_from(page.text)
    # sch-b has no safeguarding lead: without the district fallback its sexual-abuse cases
    # would have nobody who may take them.
    refused = await client.post(
        "/console/admin/rosters/sch-b/school", data={"csrf_token": csrf, "name": "示范区实验小学"}
    )
    assert refused.status_code == 400 and 'id="school-refused"' in refused.text
    assert "没有人可以接受限个案（性侵害）" in refused.text
    assert (await _school("sch-b")).coverage_fallback == "district"

    saved = await client.post(
        "/console/admin/rosters/sch-b/school",
        data={"csrf_token": csrf, "name": "示范区实验小学（本部）", "fallback": "true"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("msg=school_saved")
    school = await _school("sch-b")
    assert school.name == "示范区实验小学（本部）" and school.coverage_fallback == "district"
    (event,) = await _events()
    assert event.details == {"fields": ["name"]}
    async with session_scope() as s:
        assert (await coverage.from_db(s)).orgs["sch-b"].name == "示范区实验小学（本部）"
    too_short = await client.post(
        "/console/admin/rosters/sch-b/school",
        data={"csrf_token": csrf, "name": " x ", "fallback": "true"},
    )
    assert too_short.status_code == 400 and len(await _events()) == 1


async def test_only_administrators_and_only_schools(client) -> None:  # noqa: ANN001
    assert (await login(client, "counsellor.a")).status_code == 303
    home = await client.get("/console")
    assert (await client.get("/console/admin/rosters/sch-a/school")).status_code == 403
    posted = await client.post(
        "/console/admin/rosters/sch-a/school",
        data={"csrf_token": csrf_from(home.text), "name": "改名"},
    )
    assert posted.status_code == 403 and (await _school("sch-a")).name == "示范区第一中学"
    assert (await login(client, "admin.district")).status_code == 303
    assert (await client.get("/console/admin/rosters/qp-demo/school")).status_code == 404

"""The hotline call log in the console: same intake, channel "phone"."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from escalation.models import Escalation, StatutoryReport
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.bot.conftest import counts
from tests.support.web import csrf_from, login
from triage.models import Case, Message, Reporter


async def _log_call(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await client.get("/console/calls/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.text), "caller_kind": "parent", **fields}
    return await client.post("/console/calls/new", data=data)


async def test_hotline_logs_a_call(client: httpx.AsyncClient) -> None:
    await login(client, "hotline.district")
    response = await _log_call(
        client,
        text="家长来电：孩子说今晚要从楼顶跳下去，现在联系不上孩子",
        callback="13911112222",
        org="sch-a",
    )
    assert response.status_code == 200 and 'id="logged"' in response.text
    assert "110" in response.text  # what to tell the caller
    async with session_scope() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
        assert case.channel == "phone" and case.urgency == "emergency"
        assert case.org.code == "sch-a"
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.kind == "parent"
        assert reporter.contact == "13911112222"
        (message,) = (await s.execute(select(Message).where(Message.case_id == case.id))).scalars()
        assert message.channel == "phone"
        # The same escalation as any message: a chain of alerts and the statutory reports due.
        chains = await s.execute(select(Escalation.state).where(Escalation.case_id == case.id))
        assert list(chains.scalars()) == ["active"]
        due = (
            await s.execute(select(StatutoryReport).where(StatutoryReport.case_id == case.id))
        ).scalars()
        assert list(due)
        logged = (
            await s.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "call.logged", AuditEvent.object_id == str(case.id)
                )
            )
        ).scalars()
        assert len(list(logged)) == 1
    # The same callback number again continues the caller's case.
    again = await _log_call(
        client, text="家长再次来电：孩子已经找到了", callback="13911112222", org="sch-a"
    )
    assert again.status_code == 200
    async with session_scope() as s:
        messages = (await s.execute(select(Message).where(Message.case_id == case.id))).scalars()
        assert len(list(messages)) == 2


async def test_call_log_validation_and_permissions(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/console/calls/new")
    assert anonymous.status_code == 303
    await login(client, "auditor.district")
    assert (await client.get("/console/calls/new")).status_code == 403
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(other, "counsellor.a")
    before = await counts()
    empty = await _log_call(other, text="  ", org="sch-a")
    assert empty.status_code == 400 and "请记录来电内容" in empty.text
    elsewhere = await _log_call(other, text="有学生被打", org="sch-b")  # not their school
    assert elsewhere.status_code == 400 and "请选择单位" in elsewhere.text
    forged = await other.post("/console/calls/new", data={"text": "x", "org": "sch-a"})
    assert forged.status_code == 403
    assert await counts() == before
    ok = await _log_call(other, text="学生来电：被同学勒索了两百块", org="sch-a")
    assert ok.status_code == 200

"""The hotline operator's script follows who is calling, and the operator keeps their calls.

Issue 14: the script shown for a mother who called was the child's ("这不是你的错…先不要洗澡");
the operator could not open the call they had just logged.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot import call_scripts, calls, texts
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import csrf_from, login
from triage.models import Case, Message, Reporter

SEXUAL_ABUSE = "孩子说班主任晚上把她叫到办公室摸她的身体，还不让她告诉别人"
CHILD_WORDS = ("这不是你的错", "先不要洗澡", "你现在一定很难受")
KEYS = (
    "opening",
    "emergency_first",
    "emergency_lines",
    "emergency_alerted",
    "crisis",
    "sexual_abuse",
    "fraud",
    "child_protection",
    "mandatory",
)


def _said(kind: str, labels: list[str], urgency: str = "high") -> str:
    return "\n".join(b.render() for b in call_scripts.blocks(kind, labels, urgency, True, None))


def test_every_caller_kind_has_a_complete_script(db_url: str) -> None:
    data = texts.load("call_scripts.yaml")
    kinds = calls.caller_kinds()  # the vocabulary's reporter kinds
    assert kinds
    for kind in kinds:
        name = call_scripts.script_name(kind)
        script = data["scripts"][name]
        for key in KEYS:
            assert str(script[key]).strip(), (kind, key)
        assert set(script["advice"]) == set(call_scripts.ADVICE_LABELS), kind
    assert {"student", "parent", "teacher", "other"} <= set(data["scripts"])


@pytest.mark.parametrize("kind", ["parent", "teacher", "other", "unknown"])
def test_adults_are_not_told_the_childs_words(db_url: str, kind: str) -> None:
    for labels in (["sexual_abuse"], ["crisis"], ["bullying"], ["abuse"], ["fraud"]):
        said = _said(kind, labels)
        for words in CHILD_WORDS:
            assert words not in said, (kind, labels, words)
    emergency = _said(kind, ["crisis"], "emergency")
    assert "110" in emergency and "你现在的安全最重要" not in emergency


def test_each_caller_hears_what_fits(db_url: str) -> None:
    child = _said("student", ["sexual_abuse"])
    assert "这不是你的错" in child and "先不要洗澡" in child
    parent = _said("parent", ["sexual_abuse"])
    assert "不要让孩子洗澡" in parent and "不要自己去找对方对质" in parent
    teacher = _said("teacher", ["sexual_abuse"])
    assert "1 小时" in teacher and "私下调解" in teacher
    assert "不要让孩子独处" in _said("parent", ["crisis"], "emergency")  # advice despite emergency
    assert "不让其独处" in _said("teacher", ["crisis"])
    assert "不要责怪孩子" in _said("parent", ["bullying"])


async def _log(
    client: httpx.AsyncClient, kind: str, text: str, org: str = "sch-a"
) -> httpx.Response:
    page = await client.get("/console/calls/new")
    data = {"csrf_token": csrf_from(page.text), "caller_kind": kind, "text": text, "org": org}
    return await client.post("/console/calls/new", data=data)


async def _latest_case() -> Case:
    async with session_scope() as s:
        return (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()


async def test_a_mother_calling_gets_the_parents_script(client: httpx.AsyncClient) -> None:
    await login(client, "hotline.district")
    answer = await _log(client, "parent", SEXUAL_ABUSE)
    assert answer.status_code == 200 and 'id="script-heading"' in answer.text
    assert "请告诉来电人（家长）" in answer.text
    assert "不要让孩子洗澡" in answer.text
    for words in CHILD_WORDS:
        assert words not in answer.text
    teacher = await _log(client, "teacher", "我是班主任，班上一个学生说被同学天天打，还被抢钱")
    assert (
        "请告诉来电人（老师（学校教职工））" in teacher.text and "先把涉事学生分开" in teacher.text
    )
    case = await _latest_case()
    async with session_scope() as s:
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.kind == "teacher"


async def test_the_operator_reopens_and_adds_to_their_call(client: httpx.AsyncClient) -> None:
    await login(client, "hotline.district")
    await _log(client, "parent", SEXUAL_ABUSE)
    case = await _latest_case()
    listing = await client.get("/console/calls/new")
    assert f'href="/console/cases/{case.id}"' in listing.text  # 我登记的来电

    page = await client.get(f"/console/cases/{case.id}")
    assert page.status_code == 200 and "对话与内部备注" in page.text
    assert 'id="save-note"' in page.text and 'id="send-reply"' not in page.text
    assert 'id="claim"' not in page.text and 'id="acknowledge"' not in page.text
    csrf = csrf_from(page.text)
    noted = await client.post(
        f"/console/cases/{case.id}/note",
        data={"csrf_token": csrf, "text": "家长补充：事情发生在周三晚上"},
    )
    assert noted.status_code == 303
    after = await _latest_case()
    assert after.assignee_id is None and after.status == "new"  # still the queue's to take
    async with session_scope() as s:
        notes = (
            await s.execute(
                select(Message).where(Message.case_id == case.id, Message.direction == "note")
            )
        ).scalars()
        assert [n.text for n in notes] == ["家长补充：事情发生在周三晚上"]
        events = (
            await s.execute(select(AuditEvent.action).where(AuditEvent.object_id == str(case.id)))
        ).scalars()
        assert {"call.logged", "case.viewed", "case.note_added"} <= set(events)
    # Nothing else: no reply, relabel, close, claim, acknowledgement or fast report.
    for action, data in {
        "reply": {"text": "x"},
        "labels": {"labels": "bullying", "urgency": "high"},
        "close": {"outcome": "resolved", "disposition": "x"},
        "claim": {},
        "acknowledge": {},
    }.items():
        status = (
            await client.post(
                f"/console/cases/{case.id}/{action}", data={"csrf_token": csrf, **data}
            )
        ).status_code
        assert status == 403, action
    assert (await client.get(f"/console/cases/{case.id}/fast-report")).status_code == 403

    # A counsellor (here the lead: the case is restricted) takes it: the operator's access ends.
    lead = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(lead, "lead.a")
    lead_page = await lead.get(f"/console/cases/{case.id}")
    claimed = await lead.post(
        f"/console/cases/{case.id}/claim", data={"csrf_token": csrf_from(lead_page.text)}
    )
    assert claimed.status_code == 303
    assert (await client.get(f"/console/cases/{case.id}")).status_code == 404
    late = await client.post(
        f"/console/cases/{case.id}/note", data={"csrf_token": csrf, "text": "x"}
    )
    assert late.status_code == 404
    assert f'href="/console/cases/{case.id}"' not in (await client.get("/console/calls/new")).text


async def test_the_operator_sees_no_call_someone_else_logged(client: httpx.AsyncClient) -> None:
    counsellor = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(counsellor, "counsellor.a")
    await _log(counsellor, "student", "学生来电：被同学勒索了两百块")
    theirs = await _latest_case()
    await login(client, "hotline.district")
    assert (await client.get(f"/console/cases/{theirs.id}")).status_code == 404
    assert f"/console/cases/{theirs.id}" not in (await client.get("/console/calls/new")).text

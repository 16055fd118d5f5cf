"""Replies that fit the reporter and the message: everyday advice, parents as parents, the
contact they left acknowledged, a call-back offered in emergencies, the closing shown on
follow-up, and ways to keep the receipt code without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
from sqlalchemy import select, text, update

from bot import texts
from helpline.db import get_engine, session_scope, utcnow
from tests.bot.test_webform import EMERGENCY, _open_followup, _post_report, _receipt
from tests.support.web import csrf_from, login
from triage.models import Case, Reporter

STUDY = "最近考试压力好大，作业总是写不完，晚上睡不着"
HARM = "我家孩子在学校被几个同学打了，身上青一块紫一块"
PHONE = "13912345678"


async def _latest_case() -> Case:
    async with session_scope() as s:
        return (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()


async def test_everyday_worry_gets_advice_and_a_resource(client: httpx.AsyncClient) -> None:
    page = await _post_report(client, what=STUDY)
    assert page.status_code == 200
    assert "学习压力大" in page.text and "12356" in page.text  # advice and a line to call
    case = await _latest_case()
    assert not {"bullying", "abuse", "sexual_abuse", "crisis"} & set(case.labels)


def test_advice_only_without_harm() -> None:
    assert texts.everyday_advice(STUDY, ["general"], None) is not None
    assert texts.everyday_advice(STUDY, ["bullying"], None) is None
    assert texts.everyday_advice("今天天气不错", ["general"], None) is None


async def test_parent_is_addressed_as_a_parent_and_the_phone_is_acknowledged(
    client: httpx.AsyncClient,
) -> None:
    page = await _post_report(client, what=HARM, reporter_kind="parent", contact=PHONE)
    assert page.status_code == 200
    ack = page.text.split('id="acknowledgement"')[1].split("</div>")[0]
    assert "您" in ack and "谢谢您告诉我们孩子的情况" in ack
    assert "您留下的联系电话我们已经收到" in ack
    assert PHONE not in page.text  # acknowledged, not repeated back
    assert "说出来需要勇气" not in page.text  # the child's words are not said to a parent
    child = await _post_report(client, what="同学天天打我", reporter_kind="student")
    assert "您" not in child.text.split('id="acknowledgement"')[1].split("</div>")[0]


def test_parent_texts_exist_for_every_safety_block() -> None:
    lines_heading = texts.text("emergency_lines")  # the same list of numbers for everyone
    for labels, urgency in (
        (["sexual_abuse"], "emergency"),
        (["crisis"], "high"),
        (["fraud"], "medium"),
        (["bullying"], "medium"),
    ):
        child = texts.safety_blocks(labels, urgency, True, None, audience="child")
        parent = texts.safety_blocks(labels, urgency, True, None, audience="parent")
        assert [b.kind for b in child] == [b.kind for b in parent]
        for c, p in zip(child, parent, strict=True):
            assert c.text != p.text or c.text == lines_heading, c.kind


async def test_emergency_offers_a_call_back_stored_encrypted_and_shown_to_staff(
    client: httpx.AsyncClient,
) -> None:
    page = await _post_report(client, what=EMERGENCY, school="sch-a")
    assert 'id="callback-form"' in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    place = "学校后门小卖部旁边，电话 13800001111"
    left = await client.post(
        "/report/callback",
        data={"csrf_token": csrf_from(page.text), "token": token, "callback": place},
    )
    assert left.status_code == 200 and "已经收到" in left.text
    case = await _latest_case()
    async with session_scope() as s:
        reporter = await s.get(Reporter, case.reporter_id)
        assert reporter.contact == place
    async with get_engine().connect() as conn:  # encrypted at rest
        raw = (await conn.execute(text("SELECT contact FROM reporters"))).scalars().all()
    assert all("13800001111" not in (value or "") for value in raw)
    client.cookies.clear()
    await login(client, "lead.a")  # the school's safeguarding lead reads every case
    shown = await client.get(f"/console/cases/{case.id}")
    assert "13800001111" in shown.text.split('id="reporter-contact"')[1].split("</dd>")[0]


async def test_call_back_refuses_a_forged_token(client: httpx.AsyncClient) -> None:
    page = await client.get("/report")
    answer = await client.post(
        "/report/callback",
        data={"csrf_token": csrf_from(page.text), "token": "1.9999999999.x", "callback": "x"},
    )
    assert answer.status_code == 403 and "已过期" in answer.text


async def test_closing_is_shown_on_follow_up(client: httpx.AsyncClient) -> None:
    page = await _post_report(client, what="同学天天打我，还抢我的钱")
    code = _receipt(page.text)
    case = await _latest_case()
    opened = await _open_followup(client, code)
    assert 'id="case-closed"' not in opened.text
    async with session_scope() as s:
        await s.execute(
            update(Case)
            .where(Case.id == case.id)
            .values(status="closed", closed_at=utcnow(), outcome="referred")
        )
    closed = await _open_followup(client, code)
    section = closed.text.split('id="case-closed"')[1].split("</section>")[0]
    assert "这件求助已经结束" in section and "转给了更专业的机构" in section
    assert "北京时间" in section and "referred" not in section


async def test_receipt_code_can_be_kept_without_javascript(client: httpx.AsyncClient) -> None:
    page = await _post_report(client, what="同学天天打我")
    code = _receipt(page.text)
    text_href = re.search(r'id="save-text" href="([^"]+)"', page.text).group(1)
    image_href = re.search(r'id="save-image" href="([^"]+)"', page.text).group(1)
    assert text_href.startswith("data:text/plain") and code in unquote(text_href)
    assert image_href.startswith("data:image/svg+xml") and code in unquote(image_href)
    assert 'download="' in page.text

"""5,000 x "我" once started an emergency escalation (six labels, restricted). Through the real
web form now: the reply asks what happened, the case is queued at low urgency, and no duty
officer is paged (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from escalation.models import Delivery, Escalation, StatutoryReport
from escalation.worker import Worker
from helpline.db import session_scope
from tests.support.web import csrf_from
from triage.models import Case


@pytest.mark.parametrize("text", ["我" * 5000, "asdfghjkl;asdfghjkl", "？？？！！！😭😭😭"])
async def test_junk_gets_a_question_and_pages_nobody(
    wired: dict,
    client,
    clock,
    text: str,  # noqa: ANN001
) -> None:
    page = await client.get("/report")
    answer = await client.post(
        "/report",
        data={"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": text},
    )
    assert answer.status_code == 200
    assert "还看不太懂" in answer.text and "发生了什么" in answer.text
    assert "110" in answer.text  # the way to emergency help stays open
    await Worker().drain()
    async with session_scope() as session:
        case = (await session.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
        assert case.urgency == "low" and case.labels == ["general"]
        assert not case.mandatory and not case.restricted
        assert case.status == "new"  # queued for a counsellor
        for table in (Escalation, Delivery, StatutoryReport):
            count = await session.scalar(select(func.count()).select_from(table))
            assert count == 0, table.__tablename__
    assert not wired["smtp"].messages and not wired["webhook"].received


async def test_a_real_crisis_after_junk_still_pages(wired: dict, client, clock) -> None:  # noqa: ANN001
    """The same reporter writes the real thing next: the case is raised and escalates."""
    page = await client.get("/report")
    first = await client.post(
        "/report",
        data={
            "csrf_token": csrf_from(page.text),
            "reporter_kind": "student",
            "what": "啊" * 50,
            "school": "sch-a",
        },
    )
    assert "还看不太懂" in first.text
    code = first.text.split('id="receipt-code"')[1].split(">")[1].split("<")[0].strip()
    page = await client.post("/follow-up", data={"csrf_token": csrf_from(page.text), "code": code})
    assert page.status_code == 200
    added = await client.post(
        "/follow-up/add",
        data={
            "csrf_token": csrf_from(page.text),
            "token": _token(page.text),
            "text": "我现在站在学校楼顶，马上就跳下去",
        },
    )
    assert added.status_code == 200
    await Worker().drain()  # the case was received now: its step is due now
    async with session_scope() as session:
        case = (await session.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
        assert case.urgency == "emergency"
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 1
    assert wired["webhook"].received


def _token(html: str) -> str:
    import re

    return re.search(r'name="token" value="([^"]+)"', html).group(1)

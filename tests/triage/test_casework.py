"""The queue and case flow through the console, on the real app (httpx)."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpline.db import session_scope
from tests.support.web import csrf_from, login
from tests.triage.support import BULLYING, FRAUD, SEXUAL_ABUSE, load_case, new_case, staff_id
from triage.followup import conversation
from triage.hooks import hooks
from triage.models import LabelFeedback


async def _post(client, url: str, **data):
    page = await client.get("/console/queue")
    return await client.post(url, data={"csrf_token": csrf_from(page.text), **data})


async def test_take_next_reply_note_relabel_close(client, monkeypatch):
    # Closing rules are tested on their own below; here no statutory guard is in the way.
    monkeypatch.setattr(hooks, "close_guards", [])
    fraud = await new_case(FRAUD)
    bullying = await new_case(BULLYING)
    await login(client, "counsellor.a")
    queue = await client.get("/console/queue")
    assert queue.status_code == 200
    # Ordered by urgency first: whichever is more urgent comes first; both listed.
    assert f"/console/cases/{bullying}" in queue.text and f"/console/cases/{fraud}" in queue.text
    taken = await _post(client, "/console/queue/next")
    assert taken.status_code == 303
    first = int(re.search(r"/console/cases/(\d+)", taken.headers["location"]).group(1))
    case = await load_case(first)
    assert case.assignee_id == await staff_id("counsellor.a") and case.status == "claimed"

    page = await client.get(f"/console/cases/{first}")
    assert page.status_code == 200 and "对话与内部备注" in page.text
    r = await _post(client, f"/console/cases/{first}/reply", text="你好，我们收到了，会帮你。")
    assert r.status_code == 303
    r = await _post(client, f"/console/cases/{first}/note", text="需联系班主任")
    assert r.status_code == 303
    async with session_scope() as s:
        case = await load_case(first)
        shown = [(m.direction, m.text) for m in await conversation(s, case)]
    assert ("out", "你好，我们收到了，会帮你。") in shown
    assert all(d != "note" for d, _ in shown)  # private notes never reach the reporter
    assert (await load_case(first)).status == "in_progress"
    assert (await load_case(first)).first_response_at is not None

    r = await _post(client, f"/console/cases/{first}/labels", labels=["crisis"], urgency="high")
    assert r.status_code == 303
    async with session_scope() as s:
        fb = (await s.execute(select(LabelFeedback))).scalars().one()
        assert fb.labels == ["crisis"] and fb.message_ids
    assert (await load_case(first)).labels == ["crisis"]

    r = await _post(client, f"/console/cases/{first}/close", outcome="resolved", disposition="")
    assert r.status_code == 400  # disposition required
    r = await _post(
        client, f"/console/cases/{first}/close", outcome="resolved", disposition="已联系家长"
    )
    assert r.status_code == 303
    assert (await load_case(first)).status == "closed"


async def test_close_guard_blocks_a_mandatory_case(client, monkeypatch):
    case_id = await new_case(BULLYING)

    async def guard(session, case):
        return "尚未记录向学校负责人的报告" if case.mandatory else None

    monkeypatch.setattr(hooks, "close_guards", [guard])
    await login(client, "counsellor.a")
    r = await _post(client, f"/console/cases/{case_id}/claim")
    assert r.status_code == 303
    r = await _post(
        client, f"/console/cases/{case_id}/close", outcome="resolved", disposition="私下调解了"
    )
    assert r.status_code == 303 and "close_blocked" in r.headers["location"]
    case = await load_case(case_id)
    assert case.status == "awaiting_report" and case.closed_at is None
    page = await client.get(f"/console/cases/{case_id}")
    assert "尚未记录向学校负责人的报告" in page.text


async def test_restricted_case_content_only_for_assignee_and_lead(client):
    case_id = await new_case(SEXUAL_ABUSE)
    assert (await load_case(case_id)).restricted
    await login(client, "counsellor.a")
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200 and "restricted-notice" in page.text
    assert SEXUAL_ABUSE not in page.text and "性侵害" not in page.text
    queue = await client.get("/console/queue?category=sexual_abuse")
    assert f"/console/cases/{case_id}" not in queue.text
    # A counsellor's take-next never hands out a restricted case.
    r = await _post(client, "/console/queue/next")
    assert "queue_empty" in r.headers["location"]
    # The lead assigns it to the counsellor, who then sees it.
    await client.post("/console/logout", data={"csrf_token": csrf_from(page.text)})
    await login(client, "lead.a")
    page = await client.get(f"/console/cases/{case_id}")
    assert SEXUAL_ABUSE in page.text
    r = await _post(
        client, f"/console/cases/{case_id}/reassign", assignee=str(await staff_id("counsellor.a"))
    )
    assert r.status_code == 303
    await client.post("/console/logout", data={"csrf_token": csrf_from(page.text)})
    await login(client, "counsellor.a")
    assert SEXUAL_ABUSE in (await client.get(f"/console/cases/{case_id}")).text


async def test_merge_two_cases_of_one_reporter(client, monkeypatch):
    monkeypatch.setattr(hooks, "close_guards", [])
    first = await new_case(FRAUD, ref="same-person")
    second = await new_case(BULLYING, ref="same-person")
    await login(client, "counsellor.a")
    r = await _post(client, f"/console/cases/{first}/merge", other=str(second))
    assert r.status_code == 303
    target, source = await load_case(first), await load_case(second)
    assert source.status == "closed" and source.merged_into_id == first
    assert "bullying" in target.labels and target.mandatory
    page = await client.get(f"/console/cases/{first}")
    assert BULLYING in page.text and FRAUD in page.text


async def test_merge_refused_while_the_merged_case_has_reports_due(client, monkeypatch):
    first = await new_case(FRAUD, ref="same-person")
    second = await new_case(BULLYING, ref="same-person")

    async def guard(session, case):
        return "报告未记录" if case.id == second else None

    monkeypatch.setattr(hooks, "close_guards", [guard])
    await login(client, "counsellor.a")
    r = await _post(client, f"/console/cases/{first}/merge", other=str(second))
    assert r.status_code == 400
    assert (await load_case(second)).status != "closed"

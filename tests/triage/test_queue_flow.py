"""The queue's order, each filter, the countdown, release and reassign, reopening, the case
page's parts, the reply through the reporter's channel and closing with the real statutory guard.

Queue tests set urgency, category and times on cases opened through intake, so the expected order
is written here by hand and does not hang on a borderline classification.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from escalation.reports import case_reports
from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from tests.support.web import csrf_from, login
from tests.triage.support import BULLYING, FRAUD, SEXUAL_ABUSE, load_case, new_case, staff_id
from triage import outbox
from triage.caseview import analysis, words
from triage.casework import report_elements
from triage.intake import Intake, receive
from triage.models import Case, StaffUser
from triage.pages import countdown
from triage.reasons import reason

CASE_LINK = re.compile(r'<td><a href="/console/cases/(\d+)">')


async def _set(case_id: int, **values: object) -> None:
    async with session_scope() as s:
        await s.execute(update(Case).where(Case.id == case_id).values(**values))


async def _listed(client, query: str = "") -> list[int]:
    page = await client.get(f"/console/queue{query}")
    assert page.status_code == 200
    return [int(i) for i in CASE_LINK.findall(page.text)]


async def _post(client, url: str, **data):
    token = csrf_from((await client.get("/console")).text)
    return await client.post(url, data={"csrf_token": token, **data})


RANKS = {"emergency": 0, "high": 1, "medium": 2, "low": 3}


async def _five_cases() -> dict[str, int]:
    """Cases whose order is known: urgency first, then mandatory, then the longest waiting."""
    now = utcnow()
    plan = {
        "low_oldest": ("low", False, ["fraud"], 300),
        "high_plain": ("high", False, ["fraud"], 120),
        "high_mandatory_new": ("high", True, ["bullying"], 60),
        "emergency_newest": ("emergency", False, ["crisis"], 10),
        "high_mandatory_old": ("high", True, ["bullying"], 180),
    }
    ids = {}
    for name, (urgency, mandatory, labels, minutes) in plan.items():
        case_id = await new_case(FRAUD, "sch-a", ref=name)
        at = now - timedelta(minutes=minutes)
        await _set(
            case_id,
            urgency=urgency,
            urgency_rank=RANKS[urgency],
            mandatory=mandatory,
            labels=labels,
            received_at=at,
            first_response_due=at + timedelta(minutes=30),
        )
        ids[name] = case_id
    return ids


PRIORITY = [
    "emergency_newest",
    "high_mandatory_old",
    "high_mandatory_new",
    "high_plain",
    "low_oldest",
]


async def test_queue_order_and_take_next_follow_priority(client):
    ids = await _five_cases()
    await login(client, "counsellor.a")
    assert await _listed(client) == [ids[name] for name in PRIORITY]
    taken = []
    for _ in PRIORITY:
        r = await _post(client, "/console/queue/next")
        taken.append(int(re.search(r"/console/cases/(\d+)", r.headers["location"]).group(1)))
    assert taken == [ids[name] for name in PRIORITY]
    r = await _post(client, "/console/queue/next")
    assert "queue_empty" in r.headers["location"]


async def test_every_queue_filter(client):
    ids = await _five_cases()
    other_school = await new_case(FRAUD, "sch-b", ref="b")
    me = await staff_id("counsellor.a")
    await _set(ids["high_plain"], assignee_id=me, status="in_progress")
    await _set(ids["low_oldest"], first_response_at=None)  # due 270 min ago: overdue
    await _set(ids["high_mandatory_new"], first_response_at=utcnow())  # answered: not overdue
    await _set(ids["emergency_newest"], first_response_due=utcnow() + timedelta(minutes=4))
    await _set(ids["high_mandatory_old"], status="closed", closed_at=utcnow())

    await login(client, "counsellor.a")
    assert set(await _listed(client)) == {
        ids[n] for n in ("low_oldest", "high_plain", "high_mandatory_new", "emergency_newest")
    }
    assert await _listed(client, "?category=crisis") == [ids["emergency_newest"]]
    assert await _listed(client, "?urgency=low") == [ids["low_oldest"]]
    assert await _listed(client, "?status=in_progress") == [ids["high_plain"]]
    assert await _listed(client, "?status=closed") == [ids["high_mandatory_old"]]
    assert await _listed(client, "?mine=true") == [ids["high_plain"]]
    overdue = await _listed(client, "?overdue=true")
    assert ids["low_oldest"] in overdue and ids["high_mandatory_new"] not in overdue
    assert ids["emergency_newest"] not in overdue
    assert await _listed(client, "?category=bullying&urgency=high") == [ids["high_mandatory_new"]]
    assert await _listed(client, "?school=sch-b") == []  # not in a school counsellor's scope
    assert await _listed(client, "?category=<script>&urgency=' OR 1=1 --") == []

    client.cookies.clear()
    await login(client, "duty.district")
    assert await _listed(client, "?school=sch-b") == [other_school]
    assert ids["low_oldest"] in await _listed(client, "?school=sch-a")


async def test_filters_never_surface_a_restricted_case_by_its_content(client):
    restricted = await new_case(SEXUAL_ABUSE, "sch-a")
    case = await load_case(restricted)
    assert case.restricted
    await login(client, "counsellor.a")
    assert restricted in await _listed(client)  # its row is shown ...
    for query in (f"?urgency={case.urgency}", "?category=sexual_abuse"):
        assert restricted not in await _listed(client, query)  # ... its content never
    client.cookies.clear()
    await login(client, "lead.a")
    assert restricted in await _listed(client, f"?urgency={case.urgency}")


def test_countdown_words():
    now = datetime(2026, 10, 1, 8, 0)
    assert countdown(now + timedelta(minutes=12, seconds=30), now) == ("剩余 12 分钟", False)
    assert countdown(now - timedelta(hours=3, minutes=5), now) == ("已超时 3 小时 5 分钟", True)


async def test_queue_and_case_page_show_the_countdown(client):
    case_id = await new_case(FRAUD, "sch-a")
    now = utcnow()
    await _set(case_id, first_response_due=now - timedelta(minutes=95), first_response_at=None)
    await login(client, "counsellor.a")
    queue_page = await client.get("/console/queue")
    row = re.search(
        rf'<tr class="overdue">\s*<td><a href="/console/cases/{case_id}">', queue_page.text
    )
    assert row and "已超时 1 小时 3" in queue_page.text
    case_page = await client.get(f"/console/cases/{case_id}")
    assert "已超时 1 小时 3" in case_page.text
    await _set(case_id, first_response_due=now + timedelta(minutes=20))
    assert "剩余 19 分钟" in (await client.get("/console/queue")).text


async def test_release_and_reassign(client):
    case_id = await new_case(BULLYING, "sch-a")
    counsellor = await staff_id("counsellor.a")
    await login(client, "counsellor.a")
    assert (await _post(client, f"/console/cases/{case_id}/claim")).status_code == 303
    case = await load_case(case_id)
    assert (case.assignee_id, case.status) == (counsellor, "claimed")
    assert (await _post(client, f"/console/cases/{case_id}/release")).status_code == 303
    case = await load_case(case_id)
    assert (case.assignee_id, case.status) == (None, "new")
    r = await _post(client, "/console/queue/next")  # released: it can be taken again
    assert r.headers["location"].startswith(f"/console/cases/{case_id}")

    client.cookies.clear()
    await login(client, "lead.a")
    lead = await staff_id("lead.a")
    r = await _post(client, f"/console/cases/{case_id}/reassign", assignee=str(lead))
    assert r.status_code == 303 and (await load_case(case_id)).assignee_id == lead
    for wrong in ("counsellor.b", "duty.a"):  # another school; a role that does not do casework
        r = await _post(
            client, f"/console/cases/{case_id}/reassign", assignee=str(await staff_id(wrong))
        )
        assert r.status_code == 400
    r = await _post(client, f"/console/cases/{case_id}/reassign", assignee="999999")
    assert r.status_code == 400
    assert (await load_case(case_id)).assignee_id == lead
    async with session_scope() as s:
        actions = (
            (await s.execute(select(AuditEvent.action).where(AuditEvent.object_id == str(case_id))))
            .scalars()
            .all()
        )
    assert actions.count("case.reassigned") == 1 and "case.released" in actions


async def _write_again(ref: str) -> int:
    async with session_scope() as s:
        got = await receive(
            s, Intake(channel="web", reporter_ref=ref, text="又有人让我转账", org_code="sch-a")
        )
        assert not got.new_case
        return got.case.id


async def test_a_closed_case_reopens_when_the_reporter_writes_again(client):
    case_id = await new_case(FRAUD, "sch-a", ref="writes-again")
    long_ago = utcnow() - timedelta(days=3)
    await _set(
        case_id,
        status="closed",
        closed_at=long_ago,
        outcome="resolved",
        first_response_at=long_ago,
        first_response_due=long_ago,
    )
    before = utcnow()
    assert await _write_again("writes-again") == case_id
    case = await load_case(case_id)
    assert case.status == "new" and case.closed_at is None and case.assignee_id is None
    # A new first-response countdown from the new message (fraud: medium or higher).
    assert case.first_response_at is None and case.first_response_due > before
    await login(client, "counsellor.a")
    assert case_id in await _listed(client, "?status=new")
    page = await client.get(f"/console/cases/{case_id}")
    assert "求助者再次来信，个案重开" in page.text and "又有人让我转账" in page.text


async def test_a_reopened_case_goes_back_to_its_counsellor(client):
    case_id = await new_case(FRAUD, "sch-a", ref="back-to-mine")
    counsellor = await staff_id("counsellor.a")
    await _set(case_id, status="closed", closed_at=utcnow(), assignee_id=counsellor)
    await _write_again("back-to-mine")
    case = await load_case(case_id)
    assert case.status == "claimed" and case.assignee_id == counsellor
    await login(client, "counsellor.a")
    assert case_id in await _listed(client, "?mine=1")


async def test_a_reopened_case_of_a_departed_counsellor_returns_to_the_queue(client):
    case_id = await new_case(FRAUD, "sch-a", ref="departed")
    counsellor = await staff_id("counsellor.a")
    await _set(case_id, status="closed", closed_at=utcnow(), assignee_id=counsellor)
    async with session_scope() as s:
        await s.execute(update(StaffUser).where(StaffUser.id == counsellor).values(active=False))
    await _write_again("departed")
    case = await load_case(case_id)
    assert case.status == "new" and case.assignee_id is None


async def test_case_page_shows_every_part(client):
    case_id = await new_case(BULLYING, "sch-a", ref="parts")
    await login(client, "counsellor.a")
    await _post(client, f"/console/cases/{case_id}/reply", text="我们在，你现在安全吗？")
    await _post(client, f"/console/cases/{case_id}/note", text="内部：先联系班主任")
    page = (await client.get(f"/console/cases/{case_id}")).text
    conversation = page.split('id="conversation"')[1].split("</section>")[0]
    for text in (BULLYING, "我们在，你现在安全吗？", "内部：先联系班主任"):
        assert text in conversation
    case = await load_case(case_id)
    shown = analysis(case)
    assert 'id="h-analysis"' in page
    assert shown["rules"]
    for rule in shown["rules"]:
        # why it was flagged, in words: never the raw rule id (issue 17)
        assert reason(rule) in page and rule.split(":")[0] not in page
    for label, _ in shown["scores"]:
        assert label in page
    elements = report_elements(case)
    found = page.split('id="elements-found"')[1].split("</dl>")[0]
    missing = page.split('id="elements-missing"')[1].split("</p>")[0]
    for key, values in elements.found.items():
        assert words()["elements"][key] in found and values[0] in found
    for key in elements.missing:
        assert words()["elements"][key] in missing
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    for action in ("个案建立", "回复求助者", "添加内部备注"):
        assert action in timeline
    # Views are not events of the case: hidden here, counted, kept in the audit log.
    again = (await client.get(f"/console/cases/{case_id}")).text  # the first view is recorded
    assert "查看个案" not in again.split('id="timeline"')[1].split("</ol>")[0]
    assert "查看个案" not in timeline and 'id="views-hidden"' in again
    every = (await client.get(f"/console/cases/{case_id}?views=all")).text
    assert "查看个案" in every.split('id="timeline"')[1].split("</ol>")[0]
    async with session_scope() as s:
        views = (
            await s.execute(
                select(AuditEvent.id).where(
                    AuditEvent.action == "case.viewed", AuditEvent.object_id == str(case_id)
                )
            )
        ).all()
    assert len(views) >= 2


async def test_reply_goes_out_through_the_reporters_channel(client):
    async with session_scope() as s:
        got = await receive(
            s,
            Intake(
                channel="telegram",
                reporter_ref="tg-4242",
                text=FRAUD,
                org_code="sch-a",
                new_case=True,
            ),
        )
        case_id = got.case.id
    await login(client, "counsellor.a")
    r = await _post(client, f"/console/cases/{case_id}/reply", text="请不要再转账，我们来帮你。")
    assert r.status_code == 303
    async with session_scope() as s:
        on_telegram = [p for p in await outbox.pending(s, "telegram") if p.case_id == case_id]
        on_web = [p for p in await outbox.pending(s, "web") if p.case_id == case_id]
    assert [p.text for p in on_telegram] == ["请不要再转账，我们来帮你。"] and on_web == []


async def test_closing_needs_outcome_and_the_recorded_statutory_reports(client):
    case_id = await new_case(BULLYING, "sch-a")
    assert (await load_case(case_id)).mandatory
    await login(client, "counsellor.a")
    url = f"/console/cases/{case_id}/close"
    assert (await _post(client, url, disposition="已处理")).status_code == 400
    assert (await _post(client, url, outcome="bogus", disposition="已处理")).status_code == 400
    assert (await _post(client, url, outcome="resolved", disposition="  ")).status_code == 400
    r = await _post(client, url, outcome="resolved", disposition="双方家长已私下调解")
    assert "close_blocked" in r.headers["location"]  # the real escalation guard: 不得私下调解
    assert (await load_case(case_id)).status == "awaiting_report"
    async with session_scope() as s:
        reports = await case_reports(s, case_id)
    assert reports
    made_at = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    for report in reports:
        r = await _post(
            client,
            f"/console/cases/{case_id}/reports/{report.id}",
            made_to="校长",
            made_at=made_at,
            reference="HZ-1",
        )
        assert r.status_code == 303
    r = await _post(client, url, outcome="reported", disposition="已报告并约谈")
    assert r.headers["location"].endswith("msg=closed")
    case = await load_case(case_id)
    assert (case.status, case.outcome) == ("closed", "reported")
    assert (await _post(client, url, outcome="reported", disposition="再次")).status_code == 409

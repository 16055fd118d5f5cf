"""The live console without a browser (issue 17): the queue's one-line preview (none for a
restricted case to those who may not open it, never in a log), search by case number and by
words (only among cases whose content the searcher may open; bounded, as the messages are
encrypted at rest), the versions the live pages poll, and the new emergencies announced to
staff on shift. The browser side is tests/triage/test_live_console_browser.py."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from escalation import console_alerts
from escalation.models import DutyOverride
from helpline.db import session_scope, utcnow
from helpline.textclean import clean_line
from tests.support.web import csrf_from, login
from tests.triage.support import BULLYING, FRAUD, SEXUAL_ABUSE, new_case, staff_id
from triage import queue
from triage.caseview import words
from triage.models import Case, Message, StaffUser

CASE_LINK = re.compile(r'<td><a href="/console/cases/(\d+)">')
PREVIEW = re.compile(r'<span class="preview-text">([^<]*)</span>')
EMERGENCY = "我现在站在学校楼顶，马上就跳下去"


async def _listed(client, query: str = "") -> list[int]:
    page = await client.get(f"/console/queue{query}")
    assert page.status_code == 200
    return [int(i) for i in CASE_LINK.findall(page.text)]


async def _set(case_id: int, **values: object) -> None:
    async with session_scope() as s:
        await s.execute(update(Case).where(Case.id == case_id).values(**values))


async def _number(case_id: int) -> str:
    async with session_scope() as s:
        case = await s.get(Case, case_id)
        assert case is not None
        return case.number


async def _child_writes(case_id: int, text: str) -> None:
    """A later message of the case's reporter (as intake stores one)."""
    async with session_scope() as s:
        await s.execute(update(Case).where(Case.id == case_id).values(last_activity_at=utcnow()))
        s.add(Message(case_id=case_id, direction="in", channel="web", text=text))


async def _post(client, url: str, **data):
    token = csrf_from((await client.get("/console")).text)
    return await client.post(url, data={"csrf_token": token, **data})


async def test_preview_one_line_for_open_cases_none_for_restricted_never_logged(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    long_text = "第一行：" + BULLYING + "\n\n第二行\t " + "很长的话" * 20
    plain = await new_case(long_text, "sch-a", ref="preview-1")
    restricted = await new_case(SEXUAL_ABUSE, "sch-a", ref="preview-2")
    caplog.set_level(logging.DEBUG)
    await login(client, "counsellor.a")
    page = (await client.get("/console/queue")).text
    shown = PREVIEW.findall(page)
    limit = words()["live"]["preview_chars"]
    expected = queue.one_line(long_text, limit)
    assert shown == [expected]  # the restricted case has none
    assert "\n" not in expected and expected.endswith("…") and len(expected) == limit + 1
    assert expected.startswith("第一行：同学天天打我") and "第二行 很长的话" in expected
    assert SEXUAL_ABUSE not in page and SEXUAL_ABUSE[:6] not in page
    row = page[page.index(f'href="/console/cases/{restricted}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="preview"><span class="cell-label">最新消息</span>—</td>' in row

    # The safeguarding lead may open the restricted case: its preview is shown to them.
    client.cookies.clear()
    await login(client, "lead.a")
    lead_page = (await client.get("/console/queue")).text
    assert queue.one_line(SEXUAL_ABUSE, limit) in PREVIEW.findall(lead_page)
    assert plain in [int(i) for i in CASE_LINK.findall(lead_page)]
    # No log line (access log, SQL, application) holds a preview or the message it comes from.
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (expected, expected[:12], SEXUAL_ABUSE, "同学天天打我"):
        assert secret not in logged


async def test_search_by_case_number_any_status_and_by_its_year(client) -> None:
    wanted = await new_case(FRAUD, "sch-a", ref="number-1")
    other = await new_case(BULLYING, "sch-a", ref="number-2")
    elsewhere = await new_case(BULLYING, "sch-b", ref="number-3")
    await _set(wanted, status="closed", closed_at=utcnow())
    number = await _number(wanted)
    await login(client, "duty.a")  # may search by number only
    assert await _listed(client, f"?q={number}") == [wanted]  # closed, still found
    assert await _listed(client, f"?q={wanted}") == [wanted]  # the id alone
    year = int(number.split("-")[0])
    assert await _listed(client, f"?q={year - 1}-{wanted:06d}") == []  # another year's number
    assert await _listed(client, f"?q={elsewhere}") == []  # another school: not theirs to see
    assert await _listed(client, "?q=" + number + "&status=new") == []  # a chosen status holds
    page = (await client.get(f"/console/queue?q={number}")).text
    assert 'id="search-result" data-kind="number"' in page
    assert other not in await _listed(client, f"?q={number}")


async def test_text_search_only_among_cases_the_searcher_may_open(client) -> None:
    mine = await new_case("我在学校楼顶的天台上很害怕", "sch-a", ref="text-1")
    restricted = await new_case(SEXUAL_ABUSE + "，在楼顶的储藏室", "sch-a", ref="text-2")
    elsewhere = await new_case("我在楼顶天台上", "sch-b", ref="text-3")
    unrelated = await new_case(FRAUD, "sch-a", ref="text-4")
    await login(client, "counsellor.a")
    assert await _listed(client, "?q=楼顶") == [mine]  # not the restricted one, not sch-b
    assert await _listed(client, "?q=%E6%A5%BC%E3%80%80%E9%A1%B6") == [mine]  # "楼　顶"
    assert await _listed(client, "?q=储藏室") == []
    page = (await client.get("/console/queue?q=楼顶")).text
    assert 'data-kind="text"' in page and "search-cut" not in page
    assert 'value="楼顶"' in page  # the box keeps the term
    # Assigned to the counsellor, the restricted case is theirs to open: found.
    await _set(restricted, assignee_id=await staff_id("counsellor.a"), status="claimed")
    assert sorted(await _listed(client, "?q=楼顶")) == sorted([mine, restricted])
    # A note is searched too (the searcher reads notes on the case page).
    await _post(client, f"/console/cases/{unrelated}/note", text="家长说孩子常去天台")
    assert sorted(await _listed(client, "?q=天台")) == sorted([mine, unrelated])
    # Duty officers find cases by number only: words list nothing and say why.
    client.cookies.clear()
    await login(client, "duty.a")
    page = (await client.get("/console/queue?q=楼顶")).text
    assert CASE_LINK.findall(page) == [] and 'data-kind="refused"' in page
    assert await _listed(client, f"?q={mine}") == [mine]
    # The district's lead sees both schools, the restricted case included.
    client.cookies.clear()
    await login(client, "lead.district")
    assert sorted(await _listed(client, "?q=楼顶")) == sorted([mine, restricted, elsewhere])


async def test_search_words_are_kept_out_of_logs_and_the_audit_trail(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    # A counsellor may type a child's name into the search box: docs/triage.md promises the
    # words reach neither a log line nor an audit event (only the kind of search is audited).
    from helpline.audit import AuditEvent

    term = "王小明躲在楼顶"
    case_id = await new_case(f"{term}，他说不想活了", "sch-a", ref="search-privacy")
    await login(client, "counsellor.a")
    caplog.set_level(logging.DEBUG)
    assert await _listed(client, f"?q={term}") == [case_id]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "王小明" not in logged and "楼顶" not in logged
    async with session_scope() as s:
        details = [str(e.details) for e in (await s.execute(select(AuditEvent))).scalars()]
    assert details and not any("王小明" in d or "楼顶" in d for d in details)


async def test_text_search_is_bounded_and_says_so(client, monkeypatch) -> None:
    live = words()["live"]
    monkeypatch.setitem(live, "search_max_cases", 2)
    now = utcnow()
    ids = [
        await new_case("放学后在操场哭了很久", "sch-a", ref=f"bound-{i}", at=now - timedelta(i))
        for i in range(3)
    ]
    for i, case_id in enumerate(ids):  # the newest activity first: ids[0], ids[1]
        await _set(case_id, last_activity_at=now - timedelta(minutes=i))
    await login(client, "counsellor.a")
    assert sorted(await _listed(client, "?q=操场")) == sorted(ids[:2])
    page = (await client.get("/console/queue?q=操场")).text
    assert 'id="search-cut"' in page and "只搜索了最近活动的 2 个个案" in page
    monkeypatch.setitem(live, "search_max_messages", 1)
    assert await _listed(client, "?q=操场") == [ids[0]]


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=300), limit=st.integers(min_value=5, max_value=80))
def test_one_line_preview_is_one_short_line(text: str, limit: int) -> None:
    line = queue.one_line(text, limit)
    assert "\n" not in line and "\r" not in line and "\t" not in line
    assert len(line) <= limit + 1
    full = " ".join(clean_line(text).split())
    kept = line.removesuffix("…") if len(full) > limit else line
    assert full.startswith(kept) and (kept == full or len(line) == len(kept) + 1)


# What children and counsellors type: Chinese, Latin letters and digits, their full-width
# forms, spaces (the ideographic one too). Combining marks are left out: NFKC joins a mark to
# the letter before it, so a term starting with one is not a substring after folding.
TYPED = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from("abcXYZ019 \u3000ＡＢｃ０９"),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(before=TYPED, needle=TYPED.filter(lambda s: s.strip()), after=TYPED)
def test_words_typed_are_found_in_any_message_holding_them(
    before: str, needle: str, after: str
) -> None:
    """The property text search rests on: a term is found in every text that holds it,
    however spaced, and in full-width or upper-case form."""
    text = before + needle + after
    assert queue._fold(needle) in queue._fold(text)
    assert queue._fold(needle.upper()) in queue._fold(text.upper())


async def test_queue_version_changes_with_the_queue_and_hides_restricted_activity(
    client,
) -> None:
    plain = await new_case(BULLYING, "sch-a", ref="version-1")
    restricted = await new_case(SEXUAL_ABUSE, "sch-a", ref="version-2")
    await login(client, "counsellor.a")
    page = (await client.get("/console/queue")).text
    served = re.search(r'data-version="([0-9a-f]+)"', page).group(1)
    version = (await client.get("/console/queue/live")).json()["version"]
    assert version == served  # nothing changed since the page was served
    assert (await client.get("/console/queue/live")).json()["version"] == version

    # The restricted case's child writes again: nothing this counsellor may see changed.
    await _child_writes(restricted, "又发生了")
    same = (await client.get("/console/queue/live")).json()["version"]
    assert same == version

    # A new case arrives: a new version.
    await new_case(FRAUD, "sch-a", ref="version-3")
    arrived = (await client.get("/console/queue/live")).json()["version"]
    assert arrived != version
    # A case is claimed: a new version.
    await _post(client, f"/console/cases/{plain}/claim")
    assert (await client.get("/console/queue/live")).json()["version"] != arrived
    # The live address follows the queue's permission.
    client.cookies.clear()
    await login(client, "admin.district")
    assert (await client.get("/console/queue/live")).status_code == 403


async def test_case_version_follows_what_the_page_shows(client) -> None:
    case_id = await new_case(BULLYING, "sch-a", ref="case-version-1")
    restricted = await new_case(SEXUAL_ABUSE, "sch-a", ref="case-version-2")
    await login(client, "counsellor.a")
    page = (await client.get(f"/console/cases/{case_id}")).text
    served = re.search(r'id="case-live"[^>]*data-version="([0-9a-f]+)"', page).group(1)
    live = f"/console/cases/{case_id}/live"
    assert (await client.get(live)).json()["version"] == served
    await client.get(f"/console/cases/{case_id}")  # a view is not a change
    assert (await client.get(live)).json()["version"] == served
    await _post(client, f"/console/cases/{case_id}/note", text="已电话联系班主任")
    assert (await client.get(live)).json()["version"] != served

    restricted_live = f"/console/cases/{restricted}/live"
    before = (await client.get(restricted_live)).json()["version"]
    await _child_writes(restricted, "又发生了")
    assert (await client.get(restricted_live)).json()["version"] == before  # row unchanged
    client.cookies.clear()
    await login(client, "counsellor.b")  # another school: 404, as the page
    assert (await client.get(live)).status_code == 404


async def _emergency(at: datetime, ref: str, org: str = "sch-a") -> int:
    case_id = await new_case(EMERGENCY, org, ref=ref, at=at)
    await _set(case_id, urgency="emergency", urgency_rank=0, first_response_at=None)
    return case_id


async def _staff(username: str) -> StaffUser:
    async with session_scope() as s:
        return (
            await s.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()


async def _announced(username: str, now: datetime) -> list[int]:
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()
        return [e.case_id for e in await console_alerts.waiting_emergencies(s, staff, now)]


async def test_new_emergencies_are_announced_to_those_on_shift(db_url: str) -> None:
    # Monday 30 November 2026, 10:00 Beijing time (02:00 UTC): duty.a's weekday shift.
    monday_day = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    # The same Monday, 03:00 Beijing time (Sunday 19:00 UTC): duty.a is off, lead.a on.
    monday_night = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)
    day_case = await _emergency(monday_day - timedelta(minutes=2), "emergency-day")
    night_case = await _emergency(monday_night - timedelta(minutes=2), "emergency-night")
    await _emergency(monday_day - timedelta(minutes=3), "emergency-b", org="sch-b")
    restricted = await new_case(SEXUAL_ABUSE, "sch-a", ref="emergency-r", at=monday_day)
    await _set(restricted, urgency="emergency", urgency_rank=0)

    assert await _announced("duty.a", monday_day) == [day_case]  # on shift; not sch-b's
    assert await _announced("duty.a", monday_night) == []  # off shift
    assert await _announced("lead.a", monday_night) == [night_case]
    # A counsellor no roster names is on shift whenever signed in; the restricted emergency is
    # not theirs to open, so it is not announced to them (escalation's alert covers it).
    assert await _announced("counsellor.a", monday_day) == [day_case]
    assert await _announced("counsellor.a", monday_night) == [night_case]
    assert await _announced("lead.a", monday_day + timedelta(hours=10)) == []  # too old now
    assert await _announced("admin.district", monday_day) == []  # does not work the queue
    # An override puts duty.a on at night.
    async with session_scope() as s:
        s.add(
            DutyOverride(
                org_id=(await _staff("duty.a")).org_id,
                staff_id=(await _staff("duty.a")).id,
                starts_at=monday_night - timedelta(hours=1),
                ends_at=monday_night + timedelta(hours=1),
            )
        )
    assert await _announced("duty.a", monday_night) == [night_case]
    # Answered: no longer announced.
    await _set(day_case, first_response_at=monday_day)
    assert await _announced("counsellor.a", monday_day) == []


async def test_the_alert_poll_carries_new_emergencies_without_text(client) -> None:
    case_id = await _emergency(utcnow() - timedelta(minutes=1), "emergency-poll")
    await login(client, "counsellor.a")
    data = (await client.get("/console/alerts/live")).json()
    assert [e["case_id"] for e in data["emergencies"]] == [case_id]
    item = data["emergencies"][0]
    assert "需要处理" in item["title"] and item["case_url"] == f"/console/cases/{case_id}"
    assert EMERGENCY not in str(data) and "楼顶" not in str(data)
    client.cookies.clear()
    await login(client, "auditor.district")
    assert (await client.get("/console/alerts/live")).json()["emergencies"] == []

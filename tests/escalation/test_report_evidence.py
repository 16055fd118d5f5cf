"""Statutory report records are evidence, and one rule for when a deadline starts (issue 14).

- The stated time (`made_at`) lies between the report's opening and the moment of entry: no
  2019-01-01, no time before the case or before a "missed" mark moved it, no future time.
- A report entered after its deadline is late whatever time is stated (late by the entry).
- The case panel and the compliance exports show the stated time and when it was recorded.
- Every change of a report is audited with before and after.
- A label found later runs from the message that revealed it: a later message, or for a
  counsellor's relabel the latest message received at relabel time; never the relabel's clock.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from escalation import reports
from escalation.models import StatutoryReport
from escalation.worker import Worker
from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from registers import compliance, exports
from tests.escalation.support import Clock
from tests.support.web import csrf_from, login
from triage import casework
from triage.intake import Intake, receive
from triage.models import Case, Organisation, StaffUser

SH = ZoneInfo("Asia/Shanghai")
ABUSE = "我们班主任晚上把我叫到办公室摸我的身体，还不让我告诉别人"
QUIET = "最近心情不太好，不想说话"
REVEAL = "其实是班主任晚上把我叫到办公室摸我的身体"


async def _message(text: str, ref: str, at: datetime, case_id: int | None = None) -> Case:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(
                channel="web",
                reporter_ref=ref,
                text=text,
                org_code="sch-a",
                received_at=at,
                new_case=case_id is None,
                case_id=case_id,
            ),
        )
        return got.case


async def _report(case_id: int, kind: str) -> StatutoryReport:
    async with session_scope() as session:
        found = {r.kind: r for r in await reports.case_reports(session, case_id)}
        return found[kind]


async def _staff(username: str) -> StaffUser:
    async with session_scope() as session:
        return (
            await session.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()


async def _record(case_id: int, report_id: int, made_at: datetime, at: datetime | None = None):
    duty = await _staff("duty.a")
    async with session_scope() as session:
        made = reports.Made("派出所值班室", made_at, "JJ-1")
        return await reports.record_report(session, report_id, case_id, duty.id, made, at=at)


async def _events(case_id: int, action: str) -> list[AuditEvent]:
    async with session_scope() as session:
        found = await session.execute(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == str(case_id))
            .order_by(AuditEvent.id)
        )
        return list(found.scalars())


@pytest.mark.parametrize(
    "made_at",
    [datetime(2019, 1, 1, tzinfo=UTC), "before_case"],
    ids=["2019-01-01", "a-minute-before-the-case"],
)
async def test_a_time_before_the_report_opened_is_refused(wired: dict, made_at) -> None:  # noqa: ANN001
    received = utcnow() - timedelta(hours=3)
    case = await _message(ABUSE, f"early-{made_at}", received)
    police = await _report(case.id, "police_report")
    stated = received - timedelta(minutes=1) if made_at == "before_case" else made_at
    with pytest.raises(reports.ReportError, match="起算时间"):
        await _record(case.id, police.id, stated)
    assert (await _report(case.id, "police_report")).state == "due"


async def test_backdating_below_a_missed_mark_stays_late_on_the_export(wired: dict) -> None:
    """Marked missed, then recorded with a time before the deadline: still late, by the entry."""
    received = utcnow() - timedelta(hours=2)
    case = await _message(ABUSE, "missed-1", received)
    head = await _report(case.id, "school_head_notice")  # due 10 minutes after receipt
    await Worker(Clock(head.due_at + timedelta(minutes=1))).drain()
    assert (await _report(case.id, "school_head_notice")).state == "missed"

    entered = utcnow()
    await _record(case.id, head.id, received + timedelta(minutes=5))
    done = await _report(case.id, "school_head_notice")
    assert done.state == "done" and done.made_at == received + timedelta(minutes=5)
    assert done.recorded_at is not None and done.recorded_at >= entered
    late = (done.recorded_at - done.due_at).total_seconds() / 60
    assert done.late_minutes is not None and done.late_minutes >= int(late)

    # The compliance lines and both exports: 逾期, never 按时, with both times.
    async with session_scope() as session:
        org = (
            await session.execute(select(Organisation).where(Organisation.code == "sch-a"))
        ).scalar_one()
        found = await compliance.lines(
            session, [org.id], received - timedelta(days=1), utcnow() + timedelta(days=1)
        )
    line = next(x for x in found if x.report_id == head.id)
    assert line.outcome == "late" and line.recorded_at == done.recorded_at
    rows = list(csv.reader(io.StringIO(exports.compliance_csv(found).decode("utf-8-sig"))))
    header, body = rows[0], next(r for r in rows[1:] if r[3] == "报告学校负责人")
    assert "报告时间（登记人所称）" in header and "登记时间（系统记录）" in header
    stated_col, recorded_col = (
        header.index("报告时间（登记人所称）"),
        header.index("登记时间（系统记录）"),
    )
    assert body[stated_col] == (received + timedelta(minutes=5)).astimezone(SH).strftime(
        "%Y-%m-%d %H:%M"
    )
    assert body[recorded_col].startswith(done.recorded_at.astimezone(SH).strftime("%Y-%m-%d"))
    assert body[header.index("是否按时")] == "逾期"
    book = load_workbook(io.BytesIO(exports.compliance_xlsx(found, [], "sch-a", "t", utcnow())))
    values = [[c.value for c in row] for row in book["明细"].iter_rows()]
    detail = next(r for r in values if r and r[3] == "报告学校负责人")
    assert "逾期" in detail and "按时" not in detail

    # Audited with before and after.
    (event,) = await _events(case.id, "report.recorded")
    assert event.details["before"]["state"] == "missed"
    assert event.details["after"]["state"] == "done"
    assert event.details["after"]["recorded_at"] is not None
    assert event.details["stated_late_minutes"] == 0 and event.details["late_minutes"] > 0
    (missed,) = await _events(case.id, "report.missed")
    assert missed.details["before"]["state"] == "due"
    assert missed.details["after"]["state"] == "missed"


async def test_a_future_time_is_refused(wired: dict) -> None:
    case = await _message(ABUSE, "future-1", utcnow() - timedelta(minutes=5))
    police = await _report(case.id, "police_report")
    for minutes in (1, 3, 60):
        with pytest.raises(reports.ReportError, match="晚于现在"):
            await _record(case.id, police.id, utcnow() + timedelta(minutes=minutes))
    assert (await _report(case.id, "police_report")).state == "due"


async def test_late_entry_stays_late_whatever_time_is_stated(wired: dict) -> None:
    """Stated inside the deadline, entered 20 minutes after it: late by 20 minutes."""
    received = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    case = await _message(ABUSE, "late-entry-1", received)
    head = await _report(case.id, "school_head_notice")
    entered = head.due_at + timedelta(minutes=20)
    await _record(case.id, head.id, received + timedelta(minutes=3), at=entered)
    done = await _report(case.id, "school_head_notice")
    assert done.late_minutes == 20 and done.recorded_at == entered
    # Entered in time, stated in time: on time (the rule is not "always late").
    police = await _report(case.id, "police_report")
    await _record(case.id, police.id, received + timedelta(minutes=30), at=police.due_at)
    assert (await _report(case.id, "police_report")).late_minutes is None


async def test_the_form_refuses_2019_and_the_panel_shows_both_times(wired: dict, client) -> None:  # noqa: ANN001
    received = utcnow() - timedelta(hours=1)
    case = await _message(ABUSE, "form-1", received)
    police = await _report(case.id, "police_report")
    await login(client, "duty.a")
    page = await client.get(f"/console/cases/{case.id}")
    csrf = csrf_from(page.text)
    url = f"/console/cases/{case.id}/reports/{police.id}"
    form = {"csrf_token": csrf, "made_to": "派出所", "reference": "JJ-9"}
    old = await client.post(url, data={**form, "made_at": "2019-01-01T08:00"})
    assert old.status_code == 400
    future = (utcnow() + timedelta(minutes=4)).astimezone(SH).strftime("%Y-%m-%dT%H:%M")
    assert (await client.post(url, data={**form, "made_at": future})).status_code == 400
    assert (await _report(case.id, "police_report")).state == "due"
    stated = (received + timedelta(minutes=20)).astimezone(SH)
    answer = await client.post(url, data={**form, "made_at": stated.strftime("%Y-%m-%dT%H:%M")})
    assert answer.status_code == 303
    page = await client.get(f"/console/cases/{case.id}")
    done = await _report(case.id, "police_report")
    assert f"{stated:%H:%M}（所称）" in page.text  # the stated time, in Beijing time
    assert "登记于" in page.text and done.recorded_at.astimezone(SH).strftime("%H:%M") in page.text


async def test_a_relabel_runs_from_the_latest_message_not_from_the_relabel(wired: dict) -> None:
    first = utcnow() - timedelta(hours=3)
    case = await _message(QUIET, "relabel-1", first)
    assert not case.mandatory
    second = first + timedelta(minutes=40)
    await _message("还是很难受", "relabel-1", second, case_id=case.id)
    counsellor = await _staff("counsellor.a")
    async with session_scope() as session:
        loaded = await session.get(Case, case.id)
        await casework.relabel(session, counsellor, loaded, ["sexual_abuse"], "high")
    police = await _report(case.id, "police_report")
    # From the latest message received when the counsellor found the label (second), not
    # from the relabel (now, almost 2 h 20 min later) and not from the first message.
    assert police.opened_at == second
    assert police.due_at == second + timedelta(hours=1)


async def test_a_later_message_runs_from_that_message(wired: dict) -> None:
    first = utcnow() - timedelta(hours=3)
    case = await _message(QUIET, "reveal-1", first)
    revealed = first + timedelta(minutes=50)
    await _message(REVEAL, "reveal-1", revealed, case_id=case.id)
    police = await _report(case.id, "police_report")
    assert police.opened_at == revealed and police.due_at == revealed + timedelta(hours=1)


async def test_the_compliance_page_states_the_same_rule(wired: dict, client) -> None:  # noqa: ANN001
    await login(client, "lead.a")
    page = await client.get("/console/compliance")
    assert page.status_code == 200
    assert "揭示该情况的那条信息" in page.text and "更正时个案最新一条来信" in page.text
    assert "以系统登记时间为准" in page.text

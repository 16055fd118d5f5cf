"""The fast report's facts: a date for the child's time words, the school already known."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx

from tests.support.web import login
from tests.triage.support import load_case, new_case
from triage.casework import report_elements

# 2026-12-07 21:30 Beijing time.
RECEIVED = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)
TEXT = "今天放学在厕所，三个男生打我还抢我的钱，我不敢告诉老师"


async def test_fast_report_time_is_a_date_with_the_childs_words(wired: dict, client) -> None:  # noqa: ANN001
    case_id = await new_case(TEXT, "sch-a", ref="facts-1", at=RECEIVED)
    case = await load_case(case_id)
    elements = report_elements(case)
    assert "school" not in elements.missing  # chosen on the form: not asked again
    assert "老师" not in elements.found.get("people", [])  # told nobody: did nothing
    await login(client, "lead.a")
    file = await client.get(f"/console/cases/{case_id}/fast-report.docx")
    assert file.status_code == 200
    table = docx.Document(io.BytesIO(file.content)).tables[0]
    rows = {r.cells[0].text: r.cells[1].text for r in table.rows}
    assert rows["发生时间"] == "2026年12月07日 放学后（原话：今天、放学）"
    assert rows["发生地点"].startswith("示范区第一中学")
    assert "老师" not in rows["涉及人员"]
    page = await client.get(f"/console/cases/{case_id}")
    missing = page.text.split('id="elements-missing"')[1].split("</p>")[0]
    assert "学校" not in missing


async def test_fast_report_names_every_kind_of_reporter(wired: dict, client) -> None:  # noqa: ANN001
    # A teacher who reports (the call log offers "teacher") is named, never shown as a code.
    from helpline.db import session_scope
    from triage.intake import Intake, receive

    async with session_scope() as s:
        got = await receive(
            s,
            Intake(
                channel="phone",
                reporter_ref="facts-teacher",
                reporter_kind="teacher",
                text=TEXT,
                org_code="sch-a",
                new_case=True,
                received_at=RECEIVED,
            ),
        )
        case_id = got.case.id
    await login(client, "lead.a")
    file = await client.get(f"/console/cases/{case_id}/fast-report.docx")
    assert file.status_code == 200
    table = docx.Document(io.BytesIO(file.content)).tables[0]
    source = {r.cells[0].text: r.cells[1].text for r in table.rows}["信息来源"]
    assert "teacher" not in source and "老师（学校教职工）" in source

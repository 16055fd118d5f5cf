"""The console pages: who sees what, suppression of small cells, the bullying register's editing
and its government-form export."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
from sqlalchemy import select

from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import csrf_from, login
from triage.intake import Intake, receive

MONTH = "2025-10"
AT = datetime(2025, 10, 14, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
BULLY = "【演示】班上几个同学天天在厕所堵我，抢我的零花钱，我是初二的"
FRAUD = "【演示】有人加我QQ说刷单可以赚钱，我已经转了五百块"
NOTE = "【演示】内部备注：约谈了同学甲乙"


async def _cases() -> list[int]:
    """Two cases at sch-a (one bullying) and four at sch-b, all in October 2025."""
    from assembly import wiring

    wiring.wire_hooks()
    plan = [(BULLY, "sch-a"), (FRAUD, "sch-a")] + [(FRAUD, "sch-b")] * 4
    ids = []
    async with session_scope() as session:
        for i, (text, code) in enumerate(plan):
            got = await receive(
                session,
                Intake(
                    "web",
                    f"console-{i}",
                    text,
                    reporter_kind="student",
                    org_code=code,
                    received_at=AT + timedelta(hours=i),
                ),
            )
            ids.append(got.case.id)
    return ids


def _row(html: str, item: str) -> list[str]:
    match = re.search(rf'<th scope="row">{item}</th>(.*?)</tr>', html, re.S)
    assert match, item
    return re.findall(r'<td class="num">([^<]*)</td>', match.group(1))


async def test_statistics_views_and_suppression(client, db_url: str) -> None:  # noqa: ANN001
    await _cases()
    await login(client, "lead.a")
    page = await client.get(f"/console/statistics?month={MONTH}")
    assert page.status_code == 200
    assert _row(page.text, "个案总数") == ["2"]  # the school's own view: exact
    assert "<svg" in page.text and "<rect" in page.text and "style=" not in page.text
    export = await client.get(f"/console/statistics/export.csv?month={MONTH}")
    assert export.status_code == 200
    assert "个案,个案总数,<3" in export.content.decode("utf-8-sig")  # leaving the school
    assert (await client.get(f"/console/statistics?month={MONTH}&org=sch-b")).status_code == 404

    client.cookies.clear()
    await login(client, "admin.district")
    page = await client.get(f"/console/statistics?month={MONTH}")
    # The district's own columns exact; its schools' small cells suppressed, sch-b's 4 shown.
    assert _row(page.text, "个案总数") == ["6", "0", "&lt;3", "4"]
    school = await client.get(f"/console/statistics?month={MONTH}&org=sch-a")
    assert _row(school.text, "个案总数") == ["&lt;3"]
    xlsx = await client.get(f"/console/statistics/export.xlsx?month={MONTH}")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    totals = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "个案总数")
    assert list(totals[2:]) == [6, 0, "<3", 4]  # a zero is no child: it stays 0 (issue 17)
    board = await client.get(f"/console/compliance?month={MONTH}")
    # bullying at sch-a opens two reports (school head, education bureau); fraud opens none
    assert board.status_code == 200 and board.text.count('<tr class="reg-') == 2
    year = await client.get("/console/compliance/export.csv?month=2025")
    lines = year.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and all(",2025-10," in line for line in lines[1:])
    assert (await client.get("/console/compliance?month=2025")).status_code == 200

    async with session_scope() as session:
        actions = set((await session.execute(select(AuditEvent.action))).scalars())
    assert {"statistics.viewed", "statistics.exported"} <= actions


async def test_roles(client, db_url: str) -> None:  # noqa: ANN001
    await login(client, "counsellor.a")
    assert (await client.get("/console/statistics")).status_code == 403
    assert (await client.get("/console/statistics/export.csv")).status_code == 403
    assert (await client.get("/console/bullying")).status_code == 403
    client.cookies.clear()
    await login(client, "duty.a")
    assert (await client.get("/console/compliance")).status_code == 200
    assert (await client.get("/console/statistics")).status_code == 403
    client.cookies.clear()
    anonymous = await client.get("/console/statistics", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    await login(client, "admin.district")
    assert (await client.get("/console/statistics?month=2025-13")).status_code == 400
    assert (await client.get("/console/statistics?org=nowhere")).status_code == 404


async def test_bullying_register_editing_and_export(client, db_url: str) -> None:  # noqa: ANN001
    ids = await _cases()
    await login(client, "counsellor.a")
    form = await client.get("/console/bullying")
    assert form.status_code == 403
    client.cookies.clear()

    await login(client, "lead.a")
    listing = await client.get(f"/console/bullying?month={MONTH}")
    assert re.findall(r"/console/bullying/(\d+)", listing.text) == [str(ids[0])]
    form = await client.get(f"/console/bullying/{ids[0]}")
    assert form.status_code == 200 and 'value="初二"' in form.text  # grade from the elements
    assert (await client.get(f"/console/bullying/{ids[1]}")).status_code == 404  # not bullying
    data = {
        "csrf_token": csrf_from(form.text),
        "grade": "初二",
        "bullying_type": "physical",
        "investigation": "received",
        "determination": "bullying",
        "handling": ["education", "guardians_talk"],
        "note": NOTE,
    }
    refused = await client.post(f"/console/bullying/{ids[0]}", data=data)
    assert refused.status_code == 400 and "调查完毕后才能作出认定" in refused.text
    data |= {"investigation": "completed", "investigated_on": "2025-10-16"}
    saved = await client.post(f"/console/bullying/{ids[0]}", data=data, follow_redirects=False)
    assert saved.status_code == 303
    listing = await client.get(f"/console/bullying?month={MONTH}")
    assert "认定为欺凌" in listing.text and "约谈双方家长" in listing.text

    export = await client.get(f"/console/bullying/export.xlsx?month={MONTH}")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    row = [c.value for c in sheet[6]]
    assert row[5:10] == ["初二", "肢体欺凌", "调查完毕", "2025-10-16", "认定为欺凌"]
    assert row[11] == "批评教育、约谈双方家长"
    assert all(NOTE not in str(c.value) for line in sheet.iter_rows() for c in line)

    client.cookies.clear()
    await login(client, "admin.district")
    listing = await client.get(f"/console/bullying?month={MONTH}")
    assert listing.status_code == 200 and "认定为欺凌" in listing.text
    assert (await client.get(f"/console/bullying/{ids[0]}")).status_code == 403  # read-only
    async with session_scope() as session:
        events = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "bullying_register.updated")
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == 1 and NOTE not in str(events[0].details)

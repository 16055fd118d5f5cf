"""CSV and XLSX files: monthly statistics, deadline compliance, the bullying register.

Exports leave the school, so every count in them is suppressed ("<3"); they carry codes, counts,
dates and case numbers only: no message text, no names, no contact details, no free-text notes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from registers.bullying import RegisterRow
from registers.cells import csv_text, defuse_workbook
from registers.compliance import ReportLine, Summary
from registers.config import bullying_words, local_text, settings, text, texts, words
from registers.stats import MonthlyReport
from registers.suppress import table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def outcome_words() -> dict[str, str]:
    """How a statutory report stands (ReportOutcome), as the compliance exports say it."""
    return dict(texts("exports.outcomes"))


def _csv(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_text(value) for value in row] for row in rows)
    # UTF-8 with BOM so that Excel opens the Chinese headings correctly.
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    defuse_workbook(book).save(buffer)
    return buffer.getvalue()


def _stat_rows(report: MonthlyReport) -> list[list[object]]:
    total = text("exports.statistics.total_suffix")
    header = [
        *texts("exports.statistics.header"),
        *(c.name + (total if c.total else "") for c in report.columns),
    ]
    body = [
        [row.section, row.item, *cells]
        for row, cells in table(report, [True] * len(report.columns))
    ]
    return [header, *body]


def statistics_csv(report: MonthlyReport) -> bytes:
    return _csv(_stat_rows(report))


def _title(sheet: Worksheet, title: str, org: str, width: int, when: datetime) -> None:
    """Title row, then 填报单位 and 填报日期, as on a government form."""
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1, title).font = Font(bold=True, size=16)
    sheet.cell(1, 1).alignment = CENTER
    sheet.row_dimensions[1].height = 30
    sheet.cell(2, 1, text("exports.form_org", org=org))
    sheet.cell(2, max(2, width - 2), text("exports.form_date", date=local_text(when)[:10]))


def _grid(sheet: Worksheet, first_row: int, rows: list[list[object]]) -> None:
    for r, values in enumerate(rows, start=first_row):
        for c, value in enumerate(values, start=1):
            target = sheet.cell(r, c, value)
            target.border = BORDER
            if r == first_row:
                target.font, target.alignment = Font(bold=True), CENTER


def statistics_xlsx(report: MonthlyReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = text("exports.statistics.sheet")
    rows = _stat_rows(report)
    title = text("exports.statistics.title", month=report.month)
    _title(sheet, title, report.name, len(rows[0]), report.generated_at)
    _grid(sheet, 4, rows)
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 12, 18
    for index in range(3, len(rows[0]) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    sheet.freeze_panes = "C5"
    return _xlsx(book)


def _compliance_rows(found: list[ReportLine]) -> list[list[object]]:
    kinds = words("report_kinds")
    header = list(texts("exports.compliance.detail_header"))
    outcomes = outcome_words()
    body = [
        [
            line.case_number,
            line.school,
            line.month,
            kinds.get(line.kind, line.kind),
            local_text(line.received_at),
            local_text(line.due_at),
            local_text(line.made_at),
            local_text(line.recorded_at),
            "" if line.minutes_to_report is None else line.minutes_to_report,
            outcomes[line.outcome],
            "" if line.late_minutes is None else line.late_minutes,
        ]
        for line in found
    ]
    return [header, *body]


def _summary_rows(summaries: list[Summary]) -> list[list[object]]:
    header = list(texts("exports.compliance.summary_header"))
    return [
        header,
        *(
            [s.school, s.month, s.due, s.on_time, s.late, s.missed, s.pending, s.max_late_minutes]
            for s in summaries
        ),
    ]


def compliance_csv(found: list[ReportLine]) -> bytes:
    return _csv(_compliance_rows(found))


def compliance_xlsx(
    found: list[ReportLine], summaries: list[Summary], org: str, title: str, when: datetime
) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = text("exports.compliance.summary_sheet")
    rows = _summary_rows(summaries)
    _title(sheet, text("exports.compliance.summary_title", title=title), org, len(rows[0]), when)
    _grid(sheet, 4, rows)
    details = book.create_sheet(text("exports.compliance.detail_sheet"))
    detail_rows = _compliance_rows(found)
    detail_title = text("exports.compliance.detail_title", title=title)
    _title(details, detail_title, org, len(detail_rows[0]), when)
    _grid(details, 4, detail_rows)
    for ws in (sheet, details):
        for index in range(1, 12):
            ws.column_dimensions[get_column_letter(index)].width = 17
    return _xlsx(book)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return local_text(value)[:10] if isinstance(value, datetime) else value.isoformat()


def _register_values(number: int, row: RegisterRow) -> dict[str, object]:
    record = row.record
    handling = bullying_words("handling")
    return {
        "seq": number,
        "case_number": row.case_number,
        "school": row.school,
        "received": _day(row.received_at),
        "incident": _day(record.incident_date),
        "grade": record.grade or "",
        "type": bullying_words("types").get(record.bullying_type or "", ""),
        "investigation": bullying_words("investigation").get(record.investigation, ""),
        "investigated_on": _day(record.investigated_on),
        "determination": bullying_words("determination").get(record.determination, ""),
        "determined_on": _day(record.determined_on),
        "handling": text("exports.list_separator").join(
            handling[c] for c in record.handling or [] if c in handling
        ),
        "follow_up": bullying_words("follow_up").get(record.follow_up or "", ""),
        "followed_up_on": _day(record.followed_up_on),
    }


def _register_header(sheet: Worksheet, columns: list[dict[str, object]], top: int) -> None:
    """Two header rows: a group title merged over its columns, or one cell merged downwards."""
    index = 1
    while index <= len(columns):
        column = columns[index - 1]
        group = column.get("group")
        span = 1
        while (
            group
            and index + span <= len(columns)
            and columns[index + span - 1].get("group") == group
        ):
            span += 1
        if group:
            sheet.merge_cells(
                start_row=top, start_column=index, end_row=top, end_column=index + span - 1
            )
            sheet.cell(top, index, str(group))
            for offset in range(span):
                sheet.cell(top + 1, index + offset, str(columns[index + offset - 1]["title"]))
        else:
            sheet.merge_cells(start_row=top, start_column=index, end_row=top + 1, end_column=index)
            sheet.cell(top, index, str(column["title"]))
        index += span
    for row in (top, top + 1):
        for col in range(1, len(columns) + 1):
            target = sheet.cell(row, col)
            target.font, target.alignment, target.border = Font(bold=True), CENTER, BORDER


def bullying_xlsx(found: list[RegisterRow], org: str, period: str, when: datetime) -> bytes:
    """The register in the layout of the government form (title, 填报单位/日期, merged headers)."""
    conf = settings()["bullying"]
    columns: list[dict[str, object]] = conf["columns"]
    book = Workbook()
    sheet = book.active
    sheet.title = text("exports.bullying.sheet")
    title = text("exports.bullying.title", form_title=conf["form_title"], period=period)
    _title(sheet, title, org, len(columns), when)
    _register_header(sheet, columns, 4)
    for number, row in enumerate(found, start=1):
        values = _register_values(number, row)
        for col, column in enumerate(columns, start=1):
            target = sheet.cell(5 + number, col, values[str(column["key"])])
            target.border, target.alignment = BORDER, Alignment(vertical="center", wrap_text=True)
    for col, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = float(column["width"])  # type: ignore[arg-type]
    sheet.freeze_panes = "A6"
    return _xlsx(book)

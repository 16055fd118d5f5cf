"""Spreadsheet cells that a spreadsheet program could take for a formula are written as text.

A school name, a grade or a note typed by staff that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return would otherwise run as a formula when the export is opened
(`=HYPERLINK(...)` sends the reader's click, or the sheet's data, elsewhere).
"""

from __future__ import annotations

from openpyxl import Workbook

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TRIGGERS)


def csv_text(value: object) -> object:
    """For CSV: a leading apostrophe (OWASP's advice), which Excel and WPS show as text."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def defuse_workbook(book: Workbook) -> Workbook:
    """For XLSX: every such cell stored as a string, never as a formula (no export writes one)."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or is_formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    return book

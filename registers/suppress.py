"""Small-cell suppression: counts under the threshold show as "<3" where figures leave a school."""

from __future__ import annotations

from registers.config import settings
from registers.stats import MonthlyReport, Row, rows

Cell = int | float | str


def _conf() -> tuple[int, bool, str]:
    conf = settings()["suppression"]
    return int(conf["threshold"]), bool(conf["show_zero"]), str(conf["label"])


def is_small(count: int) -> bool:
    threshold, show_zero, _ = _conf()
    return count < threshold and not (show_zero and count == 0)


def cell(value: int | float | None, basis: int | None, suppress: bool) -> Cell:
    """One value as shown: a count, a derived figure, "" for none, or the suppression label."""
    label = _conf()[2]
    if suppress:
        if basis is not None and is_small(basis):
            return label
        if basis is None and isinstance(value, int) and is_small(value):
            return label
    return "" if value is None else value


def table(report: MonthlyReport, suppressed: list[bool]) -> list[tuple[Row, list[Cell]]]:
    """Each row with its cells; `suppressed[i]` says whether column i leaves its school."""
    out = []
    for row in rows(report):
        cells = [
            cell(value, row.basis[i] if row.basis is not None else None, suppressed[i])
            for i, value in enumerate(row.values)
        ]
        out.append((row, cells))
    return out

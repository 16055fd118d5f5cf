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


def cell(value: int | float | None, suppress: bool) -> Cell:
    """One count of children as shown: the count, "" for none, or the suppression label."""
    if suppress and isinstance(value, int) and is_small(value):
        return _conf()[2]
    return "" if value is None else value


def table(report: MonthlyReport, suppressed: list[bool]) -> list[tuple[Row, list[Cell]]]:
    """Each row with its cells; `suppressed[i]` says whether column i leaves its school."""
    out = []
    for row in rows(report):
        cells = [
            cell(value, suppressed[i] and row.counts_children)
            for i, value in enumerate(row.values)
        ]
        out.append((row, cells))
    return out

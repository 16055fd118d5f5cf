"""The names people see for shared codes (categories, urgencies, roles, channels, reporter kinds).

One file, data/vocabulary.yaml, so the console, the statistics, alerts and reports never name
the same thing two ways. A code missing from a table is shown as "其他" rather than raw.
"""

from __future__ import annotations

from typing import Any

from helpline.datafiles import data_yaml

TABLES = ("labels", "urgencies", "roles", "channels", "reporter_kinds")
UNKNOWN = "其他"


def vocabulary() -> dict[str, dict[str, str]]:
    return data_yaml("vocabulary.yaml", parse=_tables)


def _tables(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {table: {str(k): str(v) for k, v in data[table].items()} for table in TABLES}


def display(table: str, code: str | None) -> str:
    """The name shown for `code` in `table` (e.g. display("roles", "counsellor") -> 心理老师)."""
    return vocabulary()[table].get(code or "", UNKNOWN)

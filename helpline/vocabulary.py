"""The codes every package shares and the names people see for them (categories, the harm
set, urgencies with their order and rank, roles, channels, reporter kinds, text limits).

One file, data/vocabulary.yaml, so the console, the statistics, alerts and reports never name
the same thing two ways. A code missing from a table is shown as "其他" rather than raw.

The codes, their order and the limits are the data contract: read once, at import, from the
repository's data/vocabulary.yaml (as the trained model and the database's urgency_rank
column are). The names people see come from the configured data folder.
"""

from __future__ import annotations

from typing import Any

from helpline.datafiles import data_yaml, load_yaml
from helpline.settings import PROJECT_ROOT

TABLES = ("labels", "urgencies", "roles", "channels", "reporter_kinds")
UNKNOWN = "其他"

_CONTRACT = load_yaml(PROJECT_ROOT / "data" / "vocabulary.yaml")

GENERAL = "general"
# Every category, in the fixed order used to join multi-label intents with "+" (general last).
LABELS: tuple[str, ...] = tuple(str(code) for code in _CONTRACT["labels"])
# The harm categories: every label but general.
HARM_LABELS: tuple[str, ...] = tuple(code for code in LABELS if code != GENERAL)
# Harms done to the child by someone (all but fraud): the bot asks when, where and who.
CHILD_HARM: frozenset[str] = frozenset(str(code) for code in _CONTRACT["child_harm"])
# Urgency, most urgent first.
URGENCIES: tuple[str, ...] = tuple(str(code) for code in _CONTRACT["urgencies"])
# How long one message may be, and what a console form field takes before casework refuses it.
MESSAGE_CHARS = int(_CONTRACT["limits"]["message_chars"])
FORM_FIELD_CHARS = int(_CONTRACT["limits"]["form_field_chars"])


def urgency_rank(urgency: str) -> int:
    """0 for emergency ... 3 for low: smaller is more urgent (the queue's order)."""
    return URGENCIES.index(urgency)


def most_urgent(*urgencies: str) -> str:
    """The most urgent of the given urgency values."""
    return min(urgencies, key=urgency_rank)


def vocabulary() -> dict[str, dict[str, str]]:
    return data_yaml("vocabulary.yaml", parse=_tables)


def _tables(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {table: {str(k): str(v) for k, v in data[table].items()} for table in TABLES}


def display(table: str, code: str | None) -> str:
    """The name shown for `code` in `table` (e.g. display("roles", "counsellor") -> 心理老师)."""
    return vocabulary()[table].get(code or "", UNKNOWN)

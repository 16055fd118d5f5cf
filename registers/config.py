"""The registers' settings and words (data/registers/registers.yaml), parsed once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from helpline.datafiles import data_text, data_words, data_yaml
from helpline.localtime import local_time, local_zone
from helpline.vocabulary import TABLES, vocabulary


def settings() -> dict[str, Any]:
    """The whole of data/registers/registers.yaml."""
    return data_yaml("registers", "registers.yaml")


def words(table: str) -> dict[str, str]:
    """One table of Chinese words (labels, urgencies, channels, ...)."""
    if table in TABLES:
        return dict(vocabulary()[table])
    return dict(settings()["words"][table])


def text(key: str, /, **values: Any) -> str:
    """One text of data/registers/texts.yaml by dotted key, {fields} filled in."""
    return data_text("registers", key, **values)


def texts(key: str) -> Any:
    """A list or table of data/registers/texts.yaml by dotted key."""
    return data_words("registers", key)


def bullying_words(table: str) -> dict[str, str]:
    return dict(settings()["bullying"][table])


def parse_month(value: str) -> tuple[int, int]:
    """ "2026-10" -> (2026, 10); ValueError for anything else."""
    year_text, _, month_text = value.partition("-")
    if len(year_text) != 4 or len(month_text) != 2:
        raise ValueError("month must be YYYY-MM")
    year, month = int(year_text), int(month_text)
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError("month must be YYYY-MM")
    return year, month


def month_bounds(value: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant, local time, as UTC."""
    year, month = parse_month(value)
    zone = local_zone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(at: datetime) -> str:
    return at.astimezone(local_zone()).strftime("%Y-%m")


def local_date(at: datetime | None) -> date | None:
    return at.astimezone(local_zone()).date() if at is not None else None


def local_text(at: datetime | None) -> str:
    return local_time(at)

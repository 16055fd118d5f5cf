"""Report elements (time, place, people, school, grade, injuries, count) for the statutory
fast report, from the patterns in data/lexicons/elements.yaml; and the time words resolved
to a date against the moment the message was received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpline.datafiles import load_yaml
from nlu.analysis import ELEMENT_KEYS


@dataclass(frozen=True)
class Exclusion:
    """A match of an element is dropped when the text around it says the person did nothing."""

    before: re.Pattern[str] | None
    after: re.Pattern[str] | None

    def applies(self, text: str, start: int, end: int) -> bool:
        if self.before is not None and not self.before.search(text[max(0, start - 12) : start]):
            return False
        return self.after is None or bool(self.after.search(text[end : end + 8]))


@dataclass(frozen=True)
class Patterns:
    """The patterns of each element kind and the contexts that exclude a match."""

    found: dict[str, list[re.Pattern[str]]]
    not_involved: dict[str, list[Exclusion]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> list[re.Pattern[str]]:
        return self.found[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)


def _compiled(value: str | None) -> re.Pattern[str] | None:
    return re.compile(value) if value else None


@lru_cache(maxsize=4)
def load_element_patterns(lexicon_dir: Path) -> Patterns:
    raw = _raw(lexicon_dir)
    spec = raw["elements"]
    unknown = set(spec) - set(ELEMENT_KEYS)
    if unknown:
        raise ValueError(f"unknown element kinds in elements.yaml: {sorted(unknown)}")
    exclusions = {
        key: [Exclusion(_compiled(r.get("before")), _compiled(r.get("after"))) for r in rules]
        for key, rules in (raw.get("not_involved") or {}).items()
    }
    return Patterns(
        {key: [re.compile(p) for p in spec.get(key) or []] for key in ELEMENT_KEYS}, exclusions
    )


def _raw(lexicon_dir: Path) -> dict[str, Any]:
    return load_yaml(lexicon_dir / "elements.yaml")


def _spans(patterns: list[re.Pattern[str]], text: str) -> list[tuple[int, int]]:
    spans = [m.span() for p in patterns for m in p.finditer(text) if m.group()]
    # Keep the longest of overlapping matches ("今天晚上" over "今天" and "晚上").
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end))
    return kept


def extract_elements(patterns: Patterns, text: str) -> dict[str, list[str]]:
    """Distinct matches per element kind, in text order (text: normalised)."""
    out: dict[str, list[str]] = {}
    for key in ELEMENT_KEYS:
        exclusions = patterns.not_involved.get(key, [])
        values: list[str] = []
        for start, end in _spans(patterns[key], text):
            if any(rule.applies(text, start, end) for rule in exclusions):
                continue
            value = text[start:end]
            if value not in values:
                values.append(value)
        out[key] = values
    return out


_WEEK = re.compile(r"(上|这|下)?(周|星期|礼拜)([一二三四五六日天])")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})(日|号)")


def resolve_time(lexicon_dir: Path, words: list[str], received: datetime) -> str | None:
    """'今天、放学' received on 2026-12-07 -> '2026年12月07日 放学后'; None when no word says
    which day (a part of the day alone stays as the child said it). `received` is in the zone
    the child lives in."""
    table = _raw(lexicon_dir)["time_resolution"]
    day: date | None = None
    parts: list[str] = []
    for word in words:
        found = _day(table, word, received.date())
        if found is not None and day is None:
            day = found
        part = table["parts"].get(word)
        if part and part not in parts:
            parts.append(part)
    if day is None:
        return None
    return " ".join(p for p in (day.strftime(table["date_format"]), "、".join(parts)) if p)


def _day(table: dict[str, Any], word: str, today: date) -> date | None:
    if word in table["days"]:
        return today + timedelta(days=int(table["days"][word]))
    week = _WEEK.fullmatch(word)
    if week:
        monday = today - timedelta(days=today.weekday())
        shift = {"上": -7, "下": 7}.get(week.group(1) or "", 0)
        return monday + timedelta(days=shift + int(table["weekdays"][week.group(3)]))
    month_day = _MONTH_DAY.fullmatch(word)
    if month_day:
        month, day = int(month_day.group(1)), int(month_day.group(2))
        try:
            found = date(today.year, month, day)
        except ValueError:
            return None
        # A date later than the receipt is last year's (nobody reports what has not happened).
        return found if found <= today else _last_year(found)
    return None


def _last_year(value: date) -> date | None:
    try:
        return value.replace(year=value.year - 1)
    except ValueError:  # 29 February
        return None

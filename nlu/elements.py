"""Report elements (time, place, people, school, grade, injuries, count) for the statutory
fast report, from the patterns in data/lexicons/elements.yaml."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.analysis import ELEMENT_KEYS

Patterns = dict[str, list[re.Pattern[str]]]


@lru_cache(maxsize=4)
def load_element_patterns(lexicon_dir: Path) -> Patterns:
    raw = yaml.safe_load((lexicon_dir / "elements.yaml").read_text(encoding="utf-8"))
    spec = raw["elements"]
    unknown = set(spec) - set(ELEMENT_KEYS)
    if unknown:
        raise ValueError(f"unknown element kinds in elements.yaml: {sorted(unknown)}")
    return {key: [re.compile(p) for p in spec.get(key) or []] for key in ELEMENT_KEYS}


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
        values: list[str] = []
        for start, end in _spans(patterns[key], text):
            value = text[start:end]
            if value not in values:
                values.append(value)
        out[key] = values
    return out

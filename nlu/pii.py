"""Personal data: detection and redaction of phone numbers, ID card numbers (checksum
verified, GB 11643-1999), QQ and WeChat ids, e-mail addresses and self-stated names (我叫…).
Patterns and masks are in data/lexicons/pii.yaml. Detection runs on the normalised
text, which has the same length as the original, so spans point into the original text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpline.datafiles import load_yaml
from nlu.analysis import PiiSpan
from nlu.normalize import normalize

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"


def id_checksum_ok(number: str) -> bool:
    """Whether an 18-character resident ID number has a valid check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].lower()


@dataclass(frozen=True)
class PiiRules:
    patterns: dict[str, re.Pattern[str]]
    masks: dict[str, str]
    surnames: frozenset[str]
    name_stops: frozenset[str]
    not_names: tuple[str, ...]


def load_pii_rules(lexicon_dir: Path) -> PiiRules:
    return load_yaml(lexicon_dir / "pii.yaml", parse=_parse_pii)


def _parse_pii(raw: dict[str, Any]) -> PiiRules:
    return PiiRules(
        patterns={kind: re.compile(p) for kind, p in raw["patterns"].items()},
        masks=dict(raw["masks"]),
        surnames=frozenset(raw["surnames"]),
        name_stops=frozenset(raw["name_stops"]),
        not_names=tuple(raw.get("not_names") or ()),
    )


def _group_span(match: re.Match[str]) -> tuple[int, int]:
    return match.span(1) if match.re.groups else match.span()


def _name_span(rules: PiiRules, match: re.Match[str]) -> tuple[int, int] | None:
    start, end = match.span(1)
    name = match.group(1)
    if name[0] not in rules.surnames or name.startswith(rules.not_names):
        return None
    for i, char in enumerate(name[1:], 1):
        if char in rules.name_stops:
            end = start + i
            break
    return (start, end) if end - start >= 2 else None


def _candidates(rules: PiiRules, text: str) -> list[PiiSpan]:
    spans: list[PiiSpan] = []
    for kind, pattern in rules.patterns.items():
        for match in pattern.finditer(text):
            if kind == "id_card":
                if not id_checksum_ok(match.group()):
                    continue  # 18 digits that fail the checksum are not an ID number
                span: tuple[int, int] | None = match.span()
            elif kind == "name":
                span = _name_span(rules, match)
            else:
                span = _group_span(match)
            if span:
                public = {"landline": "phone", "wechat_phone": "wechat"}.get(kind, kind)
                spans.append(PiiSpan(public, span[0], span[1]))
    return spans


def find_pii(rules: PiiRules, text: str) -> list[PiiSpan]:
    """Non-overlapping personal-data spans in `text` (original or normalised), in order."""
    norm = normalize(text)
    # ID cards and e-mails first: a phone or QQ pattern inside them is not separate data.
    priority = {"id_card": 0, "email": 1, "wechat": 2, "qq": 3, "phone": 4, "name": 5}
    found = sorted(_candidates(rules, norm), key=lambda s: (priority[s.kind], s.start))
    kept: list[PiiSpan] = []
    for span in found:
        if all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact_with(rules: PiiRules, text: str) -> str:
    """`text` with every personal-data span replaced by its mask (for example [电话])."""
    out = text
    for span in reversed(find_pii(rules, text)):
        out = out[: span.start] + rules.masks[span.kind] + out[span.end :]
    return out

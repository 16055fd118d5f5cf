"""Text normalisation that keeps character offsets: traditional to simplified (OpenCC, then
data/lexicons/normalize.yaml: 妳, 甚麼, the particle 著 in 活著), full-width to half-width.
Emoji, repeated characters and punctuation runs are kept (they are signals: "救救我！！！",
"😭😭"), and the output has the same length as the input so that spans found on the
normalised text (personal data, elements) point into the original text too.

`model_text` goes one step further for the rules and the classifier only: pinyin initials
(wbxhl), English ("i want to die", "kms") and a few emoji become the Chinese they stand for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from opencc import OpenCC

from helpline.datafiles import load_yaml

_TABLE_FILE = Path(__file__).resolve().parents[1] / "data" / "lexicons" / "normalize.yaml"

_FULLWIDTH_START, _FULLWIDTH_END, _FULLWIDTH_SHIFT = 0xFF01, 0xFF5E, 0xFEE0
_IDEOGRAPHIC_SPACE = 0x3000


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def _half_width(char: str) -> str:
    code = ord(char)
    if _FULLWIDTH_START <= code <= _FULLWIDTH_END:
        return chr(code - _FULLWIDTH_SHIFT)
    if code == _IDEOGRAPHIC_SPACE:
        return " "
    return char


def _simplified(text: str) -> str:
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase-level conversion changed the length: convert character by character so
    # that offsets stay valid (losing only the rare phrase-specific choice).
    out = []
    for char in text:
        single = _t2s().convert(char)
        out.append(single if len(single) == 1 else char)
    return "".join(out)


@dataclass(frozen=True)
class _Table:
    chars: dict[str, str]
    words: dict[str, str]
    zhu_keep: re.Pattern[str]
    expand: tuple[tuple[re.Pattern[str], str], ...]
    expand_any: re.Pattern[str]


def _table() -> _Table:
    return load_yaml(_TABLE_FILE, parse=_parse_table)


def _parse_table(raw: dict[str, Any]) -> _Table:
    keep = sorted(raw["zhu_particle"]["keep_in"], key=len, reverse=True)
    expand = tuple((re.compile(e["form"]), str(e["to"])) for e in raw["expand"])
    words = {k: v for k, v in raw["words"].items() if len(k) == len(v)}
    return _Table(
        chars={k: v for k, v in raw["chars"].items() if len(k) == len(v) == 1},
        words=words,
        zhu_keep=re.compile("|".join(map(re.escape, keep))),
        expand=expand,
        expand_any=re.compile("|".join(f"(?:{p.pattern})" for p, _ in expand)),
    )


def _variants(text: str) -> str:
    table = _table()
    text = "".join(table.chars.get(c, c) for c in text)
    for word, simple in table.words.items():
        text = text.replace(word, simple)
    if "著" in text:
        kept = {i for m in table.zhu_keep.finditer(text) for i in range(m.start(), m.end())}
        text = "".join("着" if c == "著" and i not in kept else c for i, c in enumerate(text))
    return text


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Simplified Chinese, half-width ASCII, lower-case Latin; same length as `text`."""
    half = "".join(_half_width(c) for c in text)
    return _variants("".join(_lower(c) for c in _simplified(half)))


@lru_cache(maxsize=4096)
def model_text(text: str) -> str:
    """Normalised text with abbreviations, pinyin, English and meaningful emoji written out
    in Chinese ("wbxhl" -> "我不想活了", "kms" -> "想自杀", "💊" -> "药"): what the rules and
    the classifier read. Unlike `normalize`, the length may change."""
    text = normalize(text)
    table = _table()
    if not table.expand_any.search(text):
        return text
    for pattern, chinese in table.expand:
        text = pattern.sub(chinese, text)
    return text


def _lower(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char

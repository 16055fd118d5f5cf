"""Text normalisation that keeps character offsets: traditional to simplified, full-width to
half-width. Emoji, repeated characters and punctuation runs are kept (they are signals:
"救救我！！！", "😭😭"), and the output has the same length as the input so that spans found
on the normalised text (personal data, elements) point into the original text too."""

from __future__ import annotations

from functools import lru_cache

from opencc import OpenCC

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


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Simplified Chinese, half-width ASCII, lower-case Latin; same length as `text`."""
    half = "".join(_half_width(c) for c in text)
    return "".join(_lower(c) for c in _simplified(half))


def _lower(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char

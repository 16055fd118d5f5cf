"""Junk is not an emergency: a message that says nothing yet (5,000 x "我", keyboard mash, only
punctuation or emoji) is recognised here, so that the pipeline queues it at low urgency and the
bot asks what happened, instead of the classifier's biases paging a duty officer.

The thresholds and the filler words are data (data/nlu/junk/junk.yaml). The pipeline lets any
crisis or harm rule that fires on the message win over this verdict.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from helpline.datafiles import load_yaml

_LATIN = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class JunkRules:
    repeat_share: float
    repeat_min_chars: int
    keyboard_min_letters: int
    keyboard_adjacent_share: float
    keyboard_rows: tuple[str, ...]
    max_consonant_run: int
    vowels: frozenset[str]
    filler_chars: frozenset[str]
    filler_words: frozenset[str]
    keys: dict[str, tuple[int, int]]  # a key's (row, column) on the keyboard


def load_junk_rules(data_dir: Path) -> JunkRules:
    raw = load_yaml(data_dir / "nlu" / "junk" / "junk.yaml")
    fillers = [str(word).lower() for word in raw["fillers"]]
    keyboard = raw["keyboard"]
    rows = tuple(keyboard["rows"])
    return JunkRules(
        repeat_share=float(raw["repeated"]["share"]),
        repeat_min_chars=int(raw["repeated"]["min_chars"]),
        keyboard_min_letters=int(keyboard["min_letters"]),
        keyboard_adjacent_share=float(keyboard["adjacent_share"]),
        keyboard_rows=rows,
        max_consonant_run=int(keyboard["max_consonant_run"]),
        vowels=frozenset(keyboard["vowels"]),
        filler_chars=frozenset(w for w in fillers if len(w) == 1 and not w.isascii()),
        filler_words=frozenset(fillers),
        keys={ch: (row, col) for row, line in enumerate(rows) for col, ch in enumerate(line)},
    )


def _mashed(run: str, rules: JunkRules) -> bool:
    """A Latin-letter run typed by sliding along the keyboard, or with no vowel in it."""
    if run in rules.filler_words:
        return True
    longest = current = 0
    for ch in run:
        current = 0 if ch in rules.vowels else current + 1
        longest = max(longest, current)
    if longest >= rules.max_consonant_run:
        return True
    if len(run) < rules.keyboard_min_letters:
        return False
    keys = rules.keys
    pairs = list(zip(run, run[1:], strict=False))
    near = sum(
        1
        for a, b in pairs
        if a in keys
        and b in keys
        and keys[a][0] == keys[b][0]
        and abs(keys[a][1] - keys[b][1]) <= 1
    )
    return near / len(pairs) >= rules.keyboard_adjacent_share


def has_content_word(text: str, rules: JunkRules) -> bool:
    """A character that is a word or part of one (not a filler), a number, or a Latin run that
    is not keyboard mash."""
    lowered = text.lower()
    for ch in lowered:
        if ch.isdigit():
            return True
        if ch.isalpha() and not ch.isascii() and ch not in rules.filler_chars:
            return True
    return any(not _mashed(run, rules) for run in _LATIN.findall(lowered))


def junk_reason(text: str, rules: JunkRules) -> str | None:
    """ "repeated", "no_content", or None when the message may say something."""
    content = [ch for ch in text.lower() if ch.isalnum()]
    if len(content) >= rules.repeat_min_chars:
        top, count = Counter(content).most_common(1)[0]
        if count / len(content) >= rules.repeat_share:
            rest = "".join(ch for ch in text.lower() if ch != top)
            if not has_content_word(rest, rules):
                return "repeated"
    return None if has_content_word(text, rules) else "no_content"

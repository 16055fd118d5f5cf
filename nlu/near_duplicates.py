"""Near-duplicates between training lines and held-out lines: the same sentence with a word
or two changed, punctuation or spaces moved. An exact-match check misses them, and a
held-out line that nearly repeats a training line flatters the model (issue 15)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from nlu.normalize import normalize

_NOT_CONTENT = re.compile(r"[\W_]+")
# Two lines are near-duplicates when their character-trigram sets overlap this much.
NEAR = 0.7
_SHINGLE = 3
_KEY = 5  # lines are compared only when they share a 5-character run


def _content(text: str) -> str:
    return _NOT_CONTENT.sub("", normalize(text))


def _grams(text: str, size: int) -> set[str]:
    if len(text) < size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of the character trigrams of two texts (content characters only)."""
    left, right = _grams(_content(a), _SHINGLE), _grams(_content(b), _SHINGLE)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def near_duplicates(
    held_out: Sequence[str], training: Sequence[str], threshold: float = NEAR
) -> list[tuple[int, int, float]]:
    """(held-out index, training index, similarity) of every held-out line whose closest
    training line reaches `threshold`."""
    contents = [_content(t) for t in training]
    trigrams = [_grams(c, _SHINGLE) for c in contents]
    index: dict[str, list[int]] = defaultdict(list)
    for i, content in enumerate(contents):
        for key in _grams(content, _KEY):
            index[key].append(i)
    found = []
    for h, text in enumerate(held_out):
        content = _content(text)
        mine = _grams(content, _SHINGLE)
        if not mine:
            continue
        candidates = {i for key in _grams(content, _KEY) for i in index.get(key, ())}
        best, best_i = 0.0, -1
        for i in candidates:
            other = trigrams[i]
            score = len(mine & other) / len(mine | other) if other else 0.0
            if score > best:
                best, best_i = score, i
        if best >= threshold:
            found.append((h, best_i, best))
    return found

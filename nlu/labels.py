"""The label sets as NLU uses them: intent names joined in the vocabulary's fixed order.

The sets themselves (categories, harm labels, urgencies and their rank) are the kernel's one
vocabulary (helpline/vocabulary.py, from data/vocabulary.yaml); they are named here too so
that NLU's callers keep one import.
"""

from __future__ import annotations

from helpline.vocabulary import (
    GENERAL,
    HARM_LABELS,
    LABELS,
    URGENCIES,
    most_urgent,
    urgency_rank,
)

__all__ = [
    "GENERAL",
    "HARM_LABELS",
    "LABELS",
    "URGENCIES",
    "URGENCY_KEYS",
    "URGENCY_PREFIX",
    "join_labels",
    "most_urgent",
    "split_intent",
    "urgency_rank",
]

# Backends may report urgency scores next to category scores under these keys.
URGENCY_PREFIX = "urgency:"
URGENCY_KEYS: tuple[str, ...] = tuple(URGENCY_PREFIX + u for u in URGENCIES)


def join_labels(labels: list[str] | tuple[str, ...] | set[str]) -> str:
    """Labels as one intent name, in the fixed order (e.g. "bullying+crisis")."""
    wanted = set(labels)
    unknown = wanted - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels: {sorted(unknown)}")
    if GENERAL in wanted and len(wanted) > 1:
        raise ValueError("general is never combined with another label")
    return "+".join(label for label in LABELS if label in wanted)


def split_intent(intent: str) -> tuple[str, ...]:
    """An intent name ("bullying+crisis") as labels in the fixed order; raises on bad names."""
    parts = [p.strip() for p in intent.split("+") if p.strip()]
    if not parts:
        raise ValueError("empty intent name")
    canonical = join_labels(parts)
    if canonical != "+".join(parts):
        raise ValueError(f"intent {intent!r}: labels must be unique and in order ({canonical!r})")
    return tuple(parts)

"""The fixed label sets of the help line (the order is part of the data contract)."""

from __future__ import annotations

# Harm categories in the fixed order used to join multi-label intents with "+".
HARM_LABELS: tuple[str, ...] = (
    "bullying",
    "sexual_abuse",
    "abuse",
    "neglect",
    "crisis",
    "fraud",
    "danger",
)
GENERAL = "general"
# Every category label: the harm labels in order, then general (never combined with another).
LABELS: tuple[str, ...] = (*HARM_LABELS, GENERAL)

# Urgency, most urgent first.
URGENCIES: tuple[str, ...] = ("emergency", "high", "medium", "low")

# Backends may report urgency scores next to category scores under these keys.
URGENCY_PREFIX = "urgency:"
URGENCY_KEYS: tuple[str, ...] = tuple(URGENCY_PREFIX + u for u in URGENCIES)


def urgency_rank(urgency: str) -> int:
    """0 for emergency ... 3 for low: smaller is more urgent."""
    return URGENCIES.index(urgency)


def most_urgent(*urgencies: str) -> str:
    """The most urgent of the given urgency values."""
    return min(urgencies, key=urgency_rank)


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

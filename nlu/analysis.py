"""The result of understanding one message (the JSON contract of `helpline nlu classify`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ELEMENT_KEYS: tuple[str, ...] = ("time", "place", "people", "school", "grade", "injuries", "count")


@dataclass(frozen=True)
class PiiSpan:
    """Personal data found in the text: kind (phone, id_card, qq, wechat, email, name) and
    character offsets [start, end) into the original text."""

    kind: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Analysis:
    labels: list[str]
    urgency: str
    scores: dict[str, float]
    mandatory_report: bool
    rules: list[str]
    elements: dict[str, list[str]] = field(default_factory=dict)
    pii: list[PiiSpan] = field(default_factory=list)
    risk_level: int = 0
    restricted: bool = False
    junk: bool = False  # says nothing yet (nlu/junk.py): the reply asks what happened
    # Analysed by the rules alone while the model was still training (nlu/warmup.py): to be
    # analysed again once it is loaded.
    rules_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; scores rounded to 4 places."""
        return {
            "labels": list(self.labels),
            "urgency": self.urgency,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "mandatory_report": self.mandatory_report,
            "rules": list(self.rules),
            "elements": {k: list(self.elements.get(k, [])) for k in ELEMENT_KEYS},
            "pii": [span.to_dict() for span in self.pii],
            "risk_level": self.risk_level,
            "restricted": self.restricted,
            "junk": self.junk,
        } | ({"rules_only": True} if self.rules_only else {})

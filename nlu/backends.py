"""The classifier backend protocol: what the pipeline needs from a statistical model.

A backend turns texts into scores; everything else (normalisation, the rule safety net,
thresholds, urgency floors, elements, personal data, statutory rules) is done by
`nlu.pipeline.Pipeline` on top of it, identically for every backend.

Contract of `Backend.predict(texts)`:
- `texts` are already normalised (`nlu.normalize.normalize`): simplified characters,
  half-width ASCII. The backend must not rely on seeing the raw text.
- It returns one dict per text, in the same order.
- Category scores: a key for each label in `nlu.labels.LABELS` (the seven harm labels and
  "general"), value in [0, 1]; independent probabilities (multi-label), not a softmax.
  A missing label counts as 0.0.
- Urgency scores (optional): keys `nlu.labels.URGENCY_KEYS` ("urgency:emergency",
  "urgency:high", "urgency:medium", "urgency:low"), value in [0, 1]. A backend without
  its own urgency estimate leaves them out; the pipeline then derives urgency from the
  labels and the rules alone. (Rasa: map the predicted intent to the urgency recorded in
  the training data's intent metadata and report it as 1.0 for that urgency.)
- No other keys. It raises `BackendUnavailable` when the backend cannot answer at all
  (server down); it must not return made-up scores.

Per-label decision thresholds live in the model directory (spaCy) or in
`data/nlu/config/thresholds.yaml` (defaults for backends that ship none); a backend may
expose its own through the optional `thresholds` attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from nlu.labels import LABELS, URGENCY_KEYS

Scores = dict[str, float]


class BackendUnavailable(RuntimeError):
    """The backend cannot answer (model missing, server unreachable)."""


@runtime_checkable
class Backend(Protocol):
    """A statistical classifier behind the pipeline (spaCy in process, Rasa over HTTP)."""

    name: str

    def predict(self, texts: list[str]) -> list[Scores]:
        """Scores per text: category labels and optionally urgency keys (see module doc)."""
        ...


def split_scores(scores: Mapping[str, float]) -> tuple[Scores, Scores]:
    """Split one backend result into (category scores for every label, urgency scores).

    Urgency scores are keyed by the bare urgency name ("emergency") and empty when the
    backend gave none. Unknown keys are rejected so that a contract drift is noticed.
    """
    allowed = set(LABELS) | set(URGENCY_KEYS)
    unknown = set(scores) - allowed
    if unknown:
        raise ValueError(f"backend returned unknown score keys: {sorted(unknown)}")
    categories = {label: float(scores.get(label, 0.0)) for label in LABELS}
    urgency = {key.split(":", 1)[1]: float(scores[key]) for key in URGENCY_KEYS if key in scores}
    return categories, urgency

"""Chinese message understanding: categories, urgency, report elements, personal data.

    from nlu import analyze, redact
    analyze("我不想活了，今晚就吃安眠药").to_dict()

`analyze` uses a lazily loaded default pipeline (the spaCy model built by
`helpline nlu train` in the model folder); it raises ModelMissing when none is built.
"""

from __future__ import annotations

import threading

from nlu.analysis import Analysis, PiiSpan
from nlu.backends import Backend, BackendUnavailable
from nlu.labels import LABELS, URGENCIES
from nlu.paths import default_paths
from nlu.pii import load_pii_rules, redact_with
from nlu.pipeline import ModelMissing, Pipeline, load_pipeline

__all__ = [
    "LABELS",
    "URGENCIES",
    "Analysis",
    "Backend",
    "BackendUnavailable",
    "ModelMissing",
    "PiiSpan",
    "Pipeline",
    "analyze",
    "default_pipeline",
    "load_pipeline",
    "redact",
    "reset_default_pipeline",
]

_lock = threading.Lock()
_default: Pipeline | None = None


def default_pipeline() -> Pipeline:
    """The process-wide spaCy pipeline, loaded on first use."""
    global _default
    with _lock:
        if _default is None:
            from helpline.settings import get_settings

            _default = load_pipeline(backend=get_settings().nlu_backend)
        return _default


def reset_default_pipeline() -> None:
    """Forget the loaded pipeline (after retraining, or when settings change in tests)."""
    global _default
    with _lock:
        _default = None


def analyze(text: str) -> Analysis:
    """Understand one message with the default pipeline."""
    return default_pipeline().analyze(text)


def redact(text: str) -> str:
    """`text` with phone numbers, ID numbers, QQ/WeChat ids, e-mails and names replaced."""
    return redact_with(load_pii_rules(default_paths().lexicon_dir), text)

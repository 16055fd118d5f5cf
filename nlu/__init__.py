"""Chinese message understanding: categories, urgency, report elements, personal data.

    from nlu import analyze, redact
    analyze("我不想活了，今晚就吃安眠药").to_dict()

`analyze` uses a lazily loaded default pipeline (the spaCy model built by
`helpline nlu train` in the model folder). While no model is built (the first start trains it
in the background) the default pipeline analyses by the rules alone and marks its analyses
`rules_only`; the model is loaded into the running process as soon as it appears
(nlu/warmup.py, docs/nlu.md "First start").
"""

from __future__ import annotations

import logging
import threading
import time

from nlu.analysis import Analysis, PiiSpan
from nlu.backends import Backend, BackendUnavailable
from nlu.labels import LABELS, URGENCIES
from nlu.paths import default_paths
from nlu.pii import load_pii_rules, redact_with
from nlu.pipeline import ModelMissing, Pipeline, load_pipeline
from nlu.warmup import RulesOnlyBackend, model_built, read_status

__all__ = [
    "LABELS",
    "URGENCIES",
    "Analysis",
    "Backend",
    "BackendUnavailable",
    "ModelMissing",
    "PiiSpan",
    "Pipeline",
    "analysis_state",
    "analyze",
    "default_pipeline",
    "load_model_if_built",
    "loaded_pipeline",
    "load_pipeline",
    "redact",
    "reset_default_pipeline",
]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_default: Pipeline | None = None
_loader: threading.Thread | None = None
# How often a rules-only process looks for the model folder (one stat call).
MODEL_CHECK_SECONDS = 2.0
_checked_at = 0.0


def _first_pipeline() -> Pipeline:
    from helpline.settings import get_settings

    try:
        return load_pipeline(backend=get_settings().nlu_backend)
    except ModelMissing:
        log.warning("no NLU model yet: messages are analysed by the rules alone until it is built")
        return Pipeline(RulesOnlyBackend(), default_paths())


def default_pipeline() -> Pipeline:
    """The process-wide pipeline, loaded on first use; rules-only until the model is built,
    then the model, loaded in a background thread while the rules go on answering."""
    global _default
    with _lock:
        if _default is None:
            _default = _first_pipeline()
        current = _default
    if current.rules_only:
        _watch_for_model(current)
    return current


def loaded_pipeline() -> Pipeline | None:
    """The default pipeline if this process has loaded one (never loads it); a rules-only
    one also looks for the model."""
    with _lock:
        current = _default
    if current is not None and current.rules_only:
        _watch_for_model(current)
    return current


def analysis_state() -> dict[str, str | None]:
    """For monitors (/readyz): whether this process analyses with the model or, during the
    first start, by the rules alone, and when the training expects to end (UTC)."""
    current = loaded_pipeline()
    if current is None:
        return {"analysis": "not_loaded", "model_expected_at": None}
    if not current.rules_only:
        return {"analysis": "model", "model_expected_at": None}
    status = read_status(current.paths)
    expected = status.expected_end().isoformat(timespec="seconds") if status else None
    return {"analysis": "rules_only", "model_expected_at": expected}


def _watch_for_model(current: Pipeline) -> None:
    global _loader, _checked_at
    with _lock:
        now = time.monotonic()
        busy = _loader is not None and _loader.is_alive()
        if busy or now - _checked_at < MODEL_CHECK_SECONDS:
            return
        _checked_at = now
        if not model_built(current.paths):
            return
        _loader = threading.Thread(target=load_model_if_built, name="nlu-hot-load", daemon=True)
        _loader.start()


def load_model_if_built() -> bool:
    """Swap a rules-only default pipeline for the trained model once it is built (2-7 s of
    loading, outside the lock: analyses go on meanwhile). True when the default pipeline
    has a model now."""
    global _default
    with _lock:
        current = _default
    if current is not None and not current.rules_only:
        return True
    if current is None or not model_built(current.paths):
        return False
    paths = current.paths
    loaded = load_pipeline(backend="spacy", model_dir=paths.model_root, data_dir=paths.data_dir)
    with _lock:
        if _default is current:
            _default = loaded
            log.info("NLU model loaded into the running process: rules-only analysis ended")
    return True


def reset_default_pipeline() -> None:
    """Forget the loaded pipeline (after retraining, or when settings change in tests)."""
    global _default, _checked_at
    with _lock:
        _default = None
        _checked_at = 0.0


def analyze(text: str) -> Analysis:
    """Understand one message with the default pipeline."""
    return default_pipeline().analyze(text)


def redact(text: str) -> str:
    """`text` with phone numbers, ID numbers, QQ/WeChat ids, e-mails and names replaced."""
    return redact_with(load_pii_rules(default_paths().lexicon_dir), text)

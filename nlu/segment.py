"""jieba segmentation with the domain user dictionary (data/jieba/userdict.txt).

spaCy's Chinese tokenizer with `segmenter = "jieba"` calls the process-wide jieba module, so
the user dictionary is loaded into it once, before any model is built or loaded."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import jieba

_lock = threading.Lock()
_loaded: set[Path] = set()


def ensure_jieba(userdict: Path) -> None:
    """Load the user dictionary into jieba once per process (idempotent, thread-safe)."""
    resolved = userdict.resolve()
    with _lock:
        if resolved in _loaded:
            return
        # jieba announces its cache building on the root logger at INFO; keep logs clean.
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        if resolved.exists():
            jieba.load_userdict(str(resolved))
        _loaded.add(resolved)

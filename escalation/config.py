"""Escalation settings (data/escalation/escalation.yaml) and the statutory rules, parsed once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from helpline.settings import get_settings
from nlu.statutory import StatutoryRules, load_statutory_rules


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def settings() -> dict[str, Any]:
    """The whole of data/escalation/escalation.yaml."""
    return _load((get_settings().data_dir / "escalation" / "escalation.yaml").resolve())


def rules() -> StatutoryRules:
    """data/rules/statutory.yaml through the NLU engineer's loader (one parser for both)."""
    return load_statutory_rules()


@lru_cache(maxsize=1)
def label_words() -> dict[str, str]:
    """Chinese names of categories and urgencies, from triage's console words."""
    from triage.caseview import words

    table = words()
    return {**table.get("labels", {}), **table.get("urgencies", {})}

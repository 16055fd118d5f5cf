"""Escalation settings (data/escalation/escalation.yaml) and the statutory rules, parsed once."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from helpline.datafiles import data_yaml
from nlu.statutory import StatutoryRules, load_statutory_rules


def settings() -> dict[str, Any]:
    """The whole of data/escalation/escalation.yaml."""
    return data_yaml("escalation", "escalation.yaml")


def rules() -> StatutoryRules:
    """data/rules/statutory.yaml through the NLU engineer's loader (one parser for both)."""
    return load_statutory_rules()


@lru_cache(maxsize=1)
def label_words() -> dict[str, str]:
    """Chinese names of categories and urgencies, from triage's console words."""
    from triage.caseview import words

    table = words()
    return {**table.get("labels", {}), **table.get("urgencies", {})}

"""Readable reasons for the NLU rules that fired on a message (the case page's "why")."""

from __future__ import annotations

from typing import Any

from helpline.datafiles import data_yaml
from helpline.vocabulary import vocabulary
from triage.caseview import words


def _crisis_concepts() -> dict[str, str]:
    return data_yaml("lexicons", "crisis.yaml", parse=_concept_names)


def _concept_names(crisis: dict[str, Any]) -> dict[str, str]:
    concepts = crisis.get("concepts", {})
    return {code: str(spec.get("name", "")) for code, spec in concepts.items()}


def reason(rule: str) -> str:
    """'sexual_abuse.now:脱我' -> '性侵害 · 正在发生的危险：“脱我”'."""
    table = words()["rule_reasons"]
    rule_id, _, value = rule.partition(":")
    if rule_id in table and isinstance(table[rule_id], str):
        text = table[rule_id]
        if "{value}" in text:
            return text.format(value=value)
        return text + _quoted(table, value)
    head, _, kind = rule_id.partition(".")
    if head == "crisis" and kind in _crisis_concepts():
        name = f"{table['crisis']} · {_crisis_concepts()[kind]}"
    elif head in vocabulary()["labels"] and kind in table["kinds"]:
        name = f"{vocabulary()['labels'][head]} · {table['kinds'][kind]}"
    else:
        return table["other"]
    return name + _quoted(table, value)


def _quoted(table: dict[str, str], value: str) -> str:
    return "：" + table["quoted"].format(value=value) if value else ""


def reasons(rules: list[str]) -> list[str]:
    """Each fired rule in words, duplicates dropped, order kept."""
    return list(dict.fromkeys(reason(rule) for rule in rules))

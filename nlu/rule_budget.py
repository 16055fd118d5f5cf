"""The precision budget of the rule safety net: how often each rule form raises something
(a label, a word that names a harm, an urgency) on real ordinary text that holds no case.

A form that takes part in an emergency may do so on at most 1 in 20,000 ordinary posts, any
other form may raise something on at most 1 in 2,000 (issue 15). The ordinary corpus is real
public text brought into `data/nlu/real/` with its licence (data/nlu/SOURCES.md)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlu.normalize import model_text
from nlu.paths import default_paths
from nlu.rules import RuleBook, RuleResult, apply_rules, load_rulebook

EMERGENCY_BUDGET = 1 / 20_000
OTHER_BUDGET = 1 / 2_000


@dataclass(frozen=True)
class FormFiring:
    """One rule form's count on a corpus."""

    family: str  # "crisis.wish", "fraud.cue", "emergency.now" ...
    form: str  # the regular expression as written in the lexicon
    raised: int  # texts where it fired and the rules raised something
    emergency: int  # texts where it fired and the rules made the message an emergency


def read_corpus(path: Path) -> list[str]:
    """One text a line; `.gz` files are read compressed."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        return [line.rstrip("\n") for line in handle if line.strip()]


def _emergency(result: RuleResult) -> bool:
    if result.urgency == "emergency":
        return True
    return result.urgency_if_harm == "emergency" and bool(result.labels)


def _raises(family: str, label: str | None, result: RuleResult) -> bool:
    """Whether the rules' outcome on this text is one a form of `family` takes part in: the
    crisis label for a crisis concept, its own label for a harm phrase, an emergency for a
    "now" rule."""
    if family.startswith("crisis."):
        return "crisis" in result.labels
    if label is None:
        return _emergency(result)
    return label in result.labels


@lru_cache(maxsize=8192)
def _form(form: str) -> re.Pattern[str]:
    return re.compile(form)


@dataclass(frozen=True)
class _Family:
    label: str | None
    forms: tuple[str, ...]


def _families(book: RuleBook) -> dict[str, _Family]:
    """Rule families that raise something on their own; topic words (诈骗, 强奸) are weighed
    with the classifier (decision.yaml: topic_word) and are not in the budget."""
    families = {
        f"crisis.{name}": _Family("crisis", forms) for name, forms in book.concept_forms.items()
    }
    for rule in book.harm_rules:
        if rule.topic:
            continue
        known = families.get(rule.rule_id)
        forms = (known.forms if known else ()) + rule.forms
        families[rule.rule_id] = _Family(rule.label, forms)
    return families


def _forms_behind(families: dict[str, _Family], rule: str, text: str) -> set[tuple[str, str]]:
    """The lexicon forms that produced the rule id `family:surface` on `text`."""
    family, _, surface = rule.partition(":")
    known = families.get(family)
    if known is None:
        return set()
    return {
        (family, form)
        for form in known.forms
        if any(m.group() == surface for m in _form(form).finditer(text))
    }


def form_firings(book: RuleBook, texts: Iterable[str]) -> list[FormFiring]:
    """Every form that raised something on `texts`, most frequent first."""
    families = _families(book)
    raised: Counter[tuple[str, str]] = Counter()
    emergency: Counter[tuple[str, str]] = Counter()
    for original in texts:
        text = model_text(original)
        result = apply_rules(book, text)
        if not (result.labels or result.urgency):
            continue
        forms: set[tuple[str, str]] = set()
        for rule in result.rules:
            family = rule.partition(":")[0]
            if family in families and _raises(family, families[family].label, result):
                forms |= _forms_behind(families, rule, text)
        for key in forms:
            raised[key] += 1
            if _emergency(result):
                emergency[key] += 1
    return [
        FormFiring(family, form, count, emergency[(family, form)])
        for (family, form), count in raised.most_common()
    ]


def over_budget(firings: list[FormFiring], corpus_size: int) -> list[FormFiring]:
    """Forms that fire more often than their budget allows on a corpus of this size."""
    return [
        f
        for f in firings
        if f.emergency > corpus_size * EMERGENCY_BUDGET or f.raised > corpus_size * OTHER_BUDGET
    ]


BUDGET_FILE = "rule_budget.json"
_INPUTS = ("crisis.yaml", "harm.yaml", "normalize.yaml")


def budget_fingerprint(lexicon_dir: Path, corpus: Path) -> str:
    """Hash of what the committed counts depend on: the lexicons and the corpus."""
    digest = hashlib.sha256()
    for path in [*(lexicon_dir / name for name in _INPUTS), corpus]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def measure(lexicon_dir: Path, corpus: Path) -> dict[str, Any]:
    """The counts of every form on the corpus, with the fingerprint of their inputs."""
    texts = read_corpus(corpus)
    firings = form_firings(load_rulebook(lexicon_dir), texts)
    return {
        "fingerprint": budget_fingerprint(lexicon_dir, corpus),
        "corpus": corpus.name,
        "texts": len(texts),
        "forms": [asdict(f) for f in firings],
    }


def main() -> None:
    """`python -m nlu.rule_budget`: count every form on data/nlu/real and write the counts
    that tests/nlu/test_rule_budget.py checks (run it after changing a lexicon)."""
    paths = default_paths()
    corpus = paths.data_dir / "nlu" / "real" / "cold_comments.txt.gz"
    result = measure(paths.lexicon_dir, corpus)
    out = corpus.parent / BUDGET_FILE
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    over = over_budget([FormFiring(**f) for f in result["forms"]], result["texts"])
    print(
        f"{result['texts']} texts, {len(result['forms'])} forms raised something, "
        f"{len(over)} over budget -> {out}"
    )
    for firing in over:
        print(
            f"  {firing.family} raised {firing.raised}, emergency {firing.emergency}: {firing.form}"
        )


if __name__ == "__main__":
    main()

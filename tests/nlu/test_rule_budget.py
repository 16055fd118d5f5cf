"""The precision budget of every rule form (issue 15), on the counts committed beside the real
ordinary corpus (data/nlu/real/rule_budget.json, written by `python -m nlu.rule_budget`).
Counting 37,000 comments takes minutes on a busy machine, so the test checks that the
committed counts belong to the lexicons and corpus in the repository (a changed lexicon
without a recount fails) and that no form is over its budget; a sample is recounted live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlu.rule_budget import (
    BUDGET_FILE,
    EMERGENCY_BUDGET,
    OTHER_BUDGET,
    FormFiring,
    budget_fingerprint,
    form_firings,
    over_budget,
    read_corpus,
)
from nlu.rules import load_rulebook


@pytest.fixture(scope="module")
def corpus(nlu_paths) -> Path:
    return nlu_paths.data_dir / "nlu" / "real" / "cold_comments.txt.gz"


@pytest.fixture(scope="module")
def counted(corpus) -> dict:
    return json.loads((corpus.parent / BUDGET_FILE).read_text(encoding="utf-8"))


def test_committed_counts_belong_to_the_lexicons_in_the_repository(nlu_paths, corpus, counted):
    assert counted["fingerprint"] == budget_fingerprint(nlu_paths.lexicon_dir, corpus), (
        "a lexicon changed: recount with `python -m nlu.rule_budget`"
    )
    assert counted["texts"] >= 20_000  # 1 in 20,000 must be measurable


def test_no_rule_form_is_over_its_budget_on_real_ordinary_text(counted):
    firings = [FormFiring(**f) for f in counted["forms"]]
    over = over_budget(firings, counted["texts"])
    assert over == [], [(f.family, f.form, f.raised, f.emergency) for f in over]


def test_the_budget_catches_a_form_that_fires_too_often():
    texts = 40_000
    assert over_budget([FormFiring("crisis.now", "现在", 21, 0)], texts)
    assert over_budget([FormFiring("crisis.time", "马上", 3, 3)], texts)
    assert not over_budget([FormFiring("crisis.wish", "想死", 20, 2)], texts)
    assert EMERGENCY_BUDGET * 10 == OTHER_BUDGET


def test_a_live_sample_counts_as_committed(nlu_paths, corpus, counted):
    """Every 40th comment recounted now: no form fires there more often than the committed
    whole-corpus counts allow (so the file cannot be edited to look good)."""
    sample = read_corpus(corpus)[::40]
    live = form_firings(load_rulebook(nlu_paths.lexicon_dir), sample)
    committed = {(f["family"], f["form"]): f["raised"] for f in counted["forms"]}
    for firing in live:
        assert firing.raised <= committed.get((firing.family, firing.form), 0), firing

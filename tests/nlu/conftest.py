"""Fixtures: one trained spaCy model per test session (the built one when it is current,
otherwise trained into a temporary folder), and pipelines on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.backends import Scores
from nlu.labels import GENERAL, LABELS
from nlu.normalize import model_text
from nlu.paths import NluPaths, default_paths
from nlu.pipeline import Pipeline
from nlu.rules import RuleBook, RuleResult, apply_rules, load_rulebook
from nlu.train import model_is_current, train_model


@pytest.fixture(scope="session")
def nlu_paths() -> NluPaths:
    return default_paths()


@pytest.fixture(scope="session")
def trained_paths(nlu_paths: NluPaths, tmp_path_factory: pytest.TempPathFactory) -> NluPaths:
    if model_is_current(nlu_paths):
        return nlu_paths
    paths = NluPaths(data_dir=nlu_paths.data_dir, model_root=tmp_path_factory.mktemp("models"))
    train_model(paths)
    return paths


@pytest.fixture(scope="session")
def pipeline(trained_paths: NluPaths) -> Pipeline:
    from nlu.spacy_backend import SpacyBackend

    backend = SpacyBackend(trained_paths.spacy_model, trained_paths.userdict)
    return Pipeline(backend, trained_paths)


@pytest.fixture(scope="session")
def book(nlu_paths: NluPaths) -> RuleBook:
    return load_rulebook(nlu_paths.lexicon_dir)


def rules_on(book: RuleBook, text: str) -> RuleResult:
    """The rules on what the pipeline gives them to read (normalised, written out)."""
    return apply_rules(book, model_text(text))


class FixedBackend:
    """A backend that always answers the same scores (for decision-logic tests)."""

    name = "fixed"

    def __init__(self, scores: Scores | None = None) -> None:
        self.scores = scores or {label: (1.0 if label == GENERAL else 0.0) for label in LABELS}
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> list[Scores]:
        self.calls.append(list(texts))
        return [dict(self.scores) for _ in texts]


@pytest.fixture
def quiet_pipeline(nlu_paths: NluPaths) -> Pipeline:
    """Rules only: the backend always says general."""
    return Pipeline(FixedBackend(), nlu_paths, thresholds={})


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]

"""Training of the spaCy backend: a validation split carved out of the training data chooses
the per-label thresholds, then (by default) the model is trained again on all training data.
Reproducible: fixed seed, fixed order; the test split is never read here."""

from __future__ import annotations

import json
import multiprocessing
import queue
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.training import Example as SpacyExample
from spacy.util import fix_random_seed, minibatch
from thinc.api import Adam

from helpline.datafiles import load_yaml
from helpline.files import make_private_tree
from nlu.labels import GENERAL, LABELS, URGENCY_KEYS, URGENCY_PREFIX
from nlu.normalize import model_text
from nlu.paths import FINGERPRINT_FILE, NluPaths, model_is_current, training_fingerprint
from nlu.segment import ensure_jieba
from nlu.spacy_backend import (
    MODEL_LABELS,
    THRESHOLDS_FILE,
    blank_pipeline,
)
from nlu.thresholds import choose_thresholds
from nlu.training_data import Example, load_training_examples

# Called with (stage description, steps done, steps total) for a progress display.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainReport:
    model_path: Path
    examples: int
    validation: int
    thresholds: dict[str, float]
    fingerprint: str


def gold_keys(example: Example) -> set[str]:
    return {*example.labels, URGENCY_PREFIX + example.urgency}


def split_validation(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, validation), stratified by labels+urgency so every stratum is represented."""
    strata: dict[tuple[tuple[str, ...], str], list[Example]] = defaultdict(list)
    for example in examples:
        strata[(example.labels, example.urgency)].append(example)
    rng = random.Random(seed)
    train, validation = [], []
    for key in sorted(strata):
        group = list(strata[key])
        rng.shuffle(group)
        n_val = int(round(len(group) * fraction)) if len(group) >= 4 else 0
        validation.extend(group[:n_val])
        train.extend(group[n_val:])
    return train, validation


def _spacy_examples(nlp: Language, examples: Sequence[Example]) -> list[SpacyExample]:
    out = []
    for example in examples:
        keys = gold_keys(example)
        cats = {label: 1.0 if label in keys else 0.0 for label in MODEL_LABELS}
        out.append(SpacyExample.from_dict(nlp.make_doc(model_text(example.text)), {"cats": cats}))
    return out


def _fit(
    examples: Sequence[Example], cfg: dict[str, Any], stage: str, progress: Progress
) -> Language:
    fix_random_seed(int(cfg["seed"]))
    nlp = blank_pipeline(cfg["model"])
    data = _spacy_examples(nlp, examples)
    optimizer = Adam(float(cfg["learn_rate"]))
    nlp.initialize(lambda: data, sgd=optimizer)
    rng = random.Random(int(cfg["seed"]))
    epochs = int(cfg["epochs"])
    for epoch in range(epochs):
        rng.shuffle(data)
        for batch in minibatch(data, size=int(cfg["batch_size"])):
            nlp.update(batch, sgd=optimizer, drop=float(cfg["dropout"]))
        progress(stage, epoch + 1, epochs)
    return nlp


def _queue_progress(events: Any) -> Progress:
    def report(stage: str, done: int, total: int) -> None:
        events.put((stage, done, total))

    return report


def _validation_run(
    train: list[Example], validation: list[Example], cfg: dict[str, Any], events: Any
) -> dict[str, float]:
    """Fit on the training part, choose thresholds on the held-out part (worker process)."""
    nlp = _fit(train, cfg, "training (validation run)", _queue_progress(events))
    keys = [label for label in LABELS if label != GENERAL] + [GENERAL, *URGENCY_KEYS]
    return choose_thresholds(
        _scores(nlp, validation),
        [gold_keys(e) for e in validation],
        keys,
        cfg["decision_thresholds"],
    )


def _final_run(examples: list[Example], cfg: dict[str, Any], out: Path, events: Any) -> None:
    """Fit on every example and write the pipeline to `out` (worker process)."""
    nlp = _fit(examples, cfg, "training (all data)", _queue_progress(events))
    nlp.to_disk(out)


def _relay(events: Any, futures: list[Future[Any]], progress: Progress) -> None:
    """Pass the workers' progress on until both runs have finished."""
    while not all(f.done() for f in futures) or not events.empty():
        try:
            progress(*events.get(timeout=0.2))
        except queue.Empty:
            continue


def _run_both(
    train: list[Example],
    validation: list[Example],
    examples: list[Example],
    cfg: dict[str, Any],
    out: Path,
    progress: Progress,
) -> dict[str, float]:
    """The validation run and the final run are independent: one core each. Each starts from
    the same fixed seed as it would alone, so the result does not depend on running them
    side by side (a fork of this process, so jieba and the config are already loaded)."""
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, ProcessPoolExecutor(2, mp_context=context) as pool:
        events = manager.Queue()
        thresholds = pool.submit(_validation_run, train, validation, cfg, events)
        final = pool.submit(_final_run, examples, cfg, out, events)
        _relay(events, [thresholds, final], progress)
        final.result()
        return thresholds.result()


def _scores(nlp: Language, examples: Sequence[Example]) -> list[dict[str, float]]:
    texts = [model_text(e.text) for e in examples]
    return [dict(doc.cats) for doc in nlp.pipe(texts, batch_size=64)]


def _install(staging: Path, target: Path, thresholds: dict[str, float], fingerprint: str) -> None:
    """Swap a finished model folder in, so a reader never sees half of one."""
    (staging / THRESHOLDS_FILE).write_text(json.dumps(thresholds, indent=2), encoding="utf-8")
    (staging / FINGERPRINT_FILE).write_text(fingerprint, encoding="utf-8")
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)


def _ignore(stage: str, done: int, total: int) -> None:
    return None


def train_model(paths: NluPaths, progress: Progress = _ignore) -> TrainReport:
    """Train the spaCy backend from data/ and write it to the model folder."""
    ensure_jieba(paths.userdict)
    cfg = load_yaml(paths.config_dir / "train.yaml")
    decision = load_yaml(paths.config_dir / "decision.yaml")
    examples = load_training_examples(paths.train_dir)
    if not examples:
        raise ValueError(f"no training examples in {paths.train_dir}")
    train, validation = split_validation(
        examples, float(cfg["validation_fraction"]), int(cfg["seed"])
    )
    cfg = {**cfg, "decision_thresholds": decision["thresholds"]}
    paths.spacy_model.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".spacy-", dir=paths.spacy_model.parent))
    try:
        thresholds = _run_both(train, validation, examples, cfg, staging, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fingerprint = training_fingerprint(paths)
    make_private_tree(staging)
    _install(staging, paths.spacy_model, thresholds, fingerprint)
    return TrainReport(paths.spacy_model, len(examples), len(validation), thresholds, fingerprint)


__all__ = ["TrainReport", "model_is_current", "spacy", "split_validation", "train_model"]

"""Write a Rasa 3.6 NLU project from the project's own training data (`data/nlu/train/`).

The project has three files and the jieba user dictionary:
- `config.yml`: JiebaTokenizer (domain user dictionary, intents split on "+"), word and
  character n-gram count vectors (character n-grams so that segmentation errors and slang
  still share features), DIETClassifier with a fixed seed; no dialogue policies.
- `data/nlu.yml`: every example, normalised exactly as the pipeline normalises a message
  before it reaches a backend, merged into one block per intent.
- `domain.yml`: the intents.

Rasa predicts one intent per message; multi-label and urgency are carried in the intent
name: the labels in the fixed order joined by "+", then "+urgency_<level>" (for example
`bullying+crisis+urgency_high`). With intent tokenization DIET learns the label tokens
("crisis", "urgency_high") as shared features, and the backend sums the confidences of the
intents that contain a label (or an urgency) to score it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpline.settings import get_settings
from nlu.labels import URGENCIES, join_labels, split_intent
from nlu.normalize import model_text
from nlu.paths import default_paths
from nlu.training_data import Example, load_training_examples

URGENCY_PART = "urgency_"
RANDOM_SEED = 42
# Training accuracy is ~0.999 by epoch 40 on this data; more epochs only cost time.
DIET_EPOCHS = 50
CHAR_FEATURES = 10_000
# Relative to the project folder: scripts/rasa/train.sh trains from inside it.
JIEBA_DIR = "jieba"


@dataclass(frozen=True)
class ExportSummary:
    """What was written (counts only: never message text)."""

    out_dir: Path
    intents: int
    examples: int
    duplicates_dropped: int
    userdict: bool


def intent_name(labels: tuple[str, ...] | list[str], urgency: str) -> str:
    """The Rasa intent for labels and an urgency, e.g. "bullying+crisis+urgency_high"."""
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    return f"{join_labels(labels)}+{URGENCY_PART}{urgency}"


def parse_intent_name(name: str) -> tuple[tuple[str, ...], str | None]:
    """(labels, urgency) of a Rasa intent; urgency is None for a name without one."""
    parts = name.split("+")
    urgencies = [p[len(URGENCY_PART) :] for p in parts if p.startswith(URGENCY_PART)]
    if len(urgencies) > 1 or any(u not in URGENCIES for u in urgencies):
        raise ValueError(f"bad urgency in intent {name!r}")
    labels = split_intent("+".join(p for p in parts if not p.startswith(URGENCY_PART)))
    return labels, (urgencies[0] if urgencies else None)


def group_examples(examples: list[Example]) -> tuple[dict[str, list[str]], int]:
    """Normalised texts grouped by intent, in first-seen order, and how many were dropped.

    A text seen twice is kept once, under its first intent: Rasa rejects nothing here but a
    text under two intents only teaches DIET a contradiction.
    """
    grouped: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    dropped = 0
    for example in examples:
        text = " ".join(model_text(example.text).split())
        if not text or text in seen:
            dropped += 1
            continue
        seen.add(text)
        grouped[intent_name(example.labels, example.urgency)].append(text)
    return dict(grouped), dropped


def config_dict(with_userdict: bool) -> dict:
    """The Rasa pipeline configuration."""
    tokenizer: dict = {
        "name": "JiebaTokenizer",
        "intent_tokenization_flag": True,
        "intent_split_symbol": "+",
    }
    if with_userdict:
        tokenizer["dictionary_path"] = JIEBA_DIR
    return {
        "recipe": "default.v1",
        "assistant_id": "helpline-nlu",
        "language": "zh",
        "pipeline": [
            tokenizer,
            # Features seen in one example only are dropped and the character n-grams capped:
            # DIET's input layer grows with the vocabulary, and with every n-gram of 8,000+
            # examples (~250,000) an epoch took 35 s instead of a few.
            {"name": "CountVectorsFeaturizer", "analyzer": "word", "min_df": 2},
            {
                "name": "CountVectorsFeaturizer",
                "analyzer": "char_wb",
                "min_ngram": 1,
                "max_ngram": 4,
                "min_df": 2,
                "max_features": CHAR_FEATURES,
            },
            {
                "name": "DIETClassifier",
                "epochs": DIET_EPOCHS,
                "random_seed": RANDOM_SEED,
                "entity_recognition": False,
                # Intent only, from bag-of-n-gram sentence features: a transformer over the
                # token sequence costs ten times the training time for no gain here.
                "number_of_transformer_layers": 0,
                # Bigger batches than the default [64, 256]: an epoch over 8,000+ examples
                # took 20 s with them, mostly per-batch overhead.
                "batch_size": [256, 512],
                "constrain_similarities": True,
                # Report every intent: the label scores are sums over the whole ranking.
                "ranking_length": 0,
            },
        ],
        "policies": [],
    }


def nlu_yaml(grouped: dict[str, list[str]]) -> str:
    """Rasa NLU YAML with one block per intent (intents sorted for a stable file)."""
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(grouped):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in grouped[intent])
    return "\n".join(lines) + "\n"


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False)


def default_out_dir() -> Path:
    """var/rasa/project (under the configured var folder): where scripts/rasa/ train from."""
    return get_settings().var_dir / "rasa" / "project"


def export_project(
    out_dir: Path | None = None,
    train_dir: Path | None = None,
    userdict: Path | None = None,
) -> ExportSummary:
    """Write config.yml, data/nlu.yml, domain.yml and jieba/ into `out_dir`.

    Defaults: var/rasa/project, data/nlu/train/ and data/jieba/userdict.txt of the
    configured folders. The output depends only on the inputs (sorted intents, fixed seed),
    so its hash tells whether a retrain is needed.
    """
    paths = default_paths()
    out_dir = Path(out_dir or default_out_dir())
    train_dir = Path(train_dir or paths.train_dir)
    userdict = Path(userdict or paths.userdict)
    examples = load_training_examples(train_dir)
    if not examples:
        raise ValueError(f"no training examples under {train_dir}")
    grouped, dropped = group_examples(examples)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    jieba_dir = out_dir / JIEBA_DIR
    if jieba_dir.exists():
        shutil.rmtree(jieba_dir)
    has_userdict = userdict.is_file()
    if has_userdict:
        # Rasa loads every file of this folder and copies it into the trained model.
        jieba_dir.mkdir()
        shutil.copyfile(userdict, jieba_dir / "userdict.txt")
    (out_dir / "config.yml").write_text(_dump(config_dict(has_userdict)), encoding="utf-8")
    (out_dir / "data" / "nlu.yml").write_text(nlu_yaml(grouped), encoding="utf-8")
    domain = {"version": "3.1", "intents": sorted(grouped)}
    (out_dir / "domain.yml").write_text(_dump(domain), encoding="utf-8")
    return ExportSummary(
        out_dir=out_dir,
        intents=len(grouped),
        examples=sum(len(texts) for texts in grouped.values()),
        duplicates_dropped=dropped,
        userdict=has_userdict,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m nlu.rasa_export [--out DIR] [--train DIR] [--userdict FILE]."""
    parser = argparse.ArgumentParser(description="Write the Rasa NLU project from data/nlu/.")
    parser.add_argument("--out", type=Path, help="default: var/rasa/project")
    parser.add_argument("--train", type=Path, help="default: data/nlu/train")
    parser.add_argument("--userdict", type=Path, help="default: data/jieba/userdict.txt")
    args = parser.parse_args(argv)
    summary = export_project(args.out, args.train, args.userdict)
    dictionary = "with" if summary.userdict else "WITHOUT (file missing)"
    print(
        f"rasa project written to {summary.out_dir}: {summary.intents} intents, "
        f"{summary.examples} examples ({summary.duplicates_dropped} duplicates dropped), "
        f"{dictionary} the jieba user dictionary"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Loading the training data (Rasa NLU YAML) and the test split (JSON lines).

Training files: `version: "3.1"`, `nlu:` a list of intents; an intent name is one label or
several joined by "+" in the fixed order of `nlu.labels.LABELS`; `metadata.urgency` gives
the urgency of every example of that block; `examples` is a "- text" list.
Test files: one JSON object a line, `{"text", "categories": [...], "urgency"}`; categories
in any order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlu.labels import GENERAL, URGENCIES, join_labels, split_intent


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    labels: tuple[str, ...]
    urgency: str


class DataError(ValueError):
    """A training or test file does not follow the data contract."""


def _files(path_or_dir: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    path = Path(path_or_dir)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in suffixes and p.is_file())
    if path.is_file():
        return [path]
    raise FileNotFoundError(f"no such file or folder: {path}")


def _check_urgency(urgency: object, where: str) -> str:
    if urgency not in URGENCIES:
        raise DataError(f"{where}: urgency must be one of {URGENCIES}, got {urgency!r}")
    return str(urgency)


def _parse_examples(block: str) -> list[str]:
    texts = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        elif line == "-":
            continue
        if line:
            texts.append(line)
    return texts


def _load_yaml_file(path: Path) -> list[Example]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for i, block in enumerate(doc.get("nlu") or []):
        where = f"{path.name} block {i + 1}"
        if "intent" not in block:
            continue  # synonyms, regexes, lookups: not examples
        try:
            labels = split_intent(str(block["intent"]))
        except ValueError as exc:
            raise DataError(f"{where}: {exc}") from exc
        urgency = _check_urgency((block.get("metadata") or {}).get("urgency"), where)
        for text in _parse_examples(str(block.get("examples") or "")):
            examples.append(Example(text=text, labels=labels, urgency=urgency))
    return examples


def load_training_examples(path_or_dir: str | Path) -> list[Example]:
    """Every example of a Rasa NLU YAML file, or of every *.yml/*.yaml file of a folder."""
    examples: list[Example] = []
    for path in _files(path_or_dir, (".yml", ".yaml")):
        examples.extend(_load_yaml_file(path))
    return examples


def _test_example(obj: object, where: str) -> Example:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise DataError(f"{where}: expected an object with a text")
    categories = obj.get("categories") or [GENERAL]
    if not isinstance(categories, list):
        raise DataError(f"{where}: categories must be a list")
    try:
        # Any order in the file (an external evaluation's file need not know the fixed one).
        labels = split_intent(join_labels([str(c) for c in categories]))
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from exc
    return Example(obj["text"], labels, _check_urgency(obj.get("urgency"), where))


def load_test_examples(path_or_dir: str | Path) -> list[Example]:
    """Every line of a JSON-lines test file, or of every *.jsonl file of a folder."""
    examples = []
    for path in _files(path_or_dir, (".jsonl",)):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: invalid JSON ({exc.msg})") from exc
                examples.append(_test_example(obj, where))
    return examples

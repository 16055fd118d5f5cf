"""Evaluation of a pipeline on a labelled test split and on a false-alarm file."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlu.analysis import Analysis
from nlu.labels import GENERAL, LABELS, URGENCIES
from nlu.pipeline import Pipeline
from nlu.training_data import Example


@dataclass(frozen=True)
class LabelStats:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class EvalReport:
    n: int
    per_label: dict[str, LabelStats]
    urgency_confusion: dict[str, dict[str, int]]
    general_lines: int
    general_false_alarms: int
    misses: list[dict[str, object]] = field(default_factory=list)

    @property
    def macro_f1(self) -> float:
        present = [s for s in self.per_label.values() if s.tp + s.fn]
        return sum(s.f1 for s in present) / len(present) if present else 0.0

    def urgency_recall(self, urgency: str) -> float:
        row = self.urgency_confusion[urgency]
        total = sum(row.values())
        return row[urgency] / total if total else 0.0

    @property
    def general_false_alarm_rate(self) -> float:
        return self.general_false_alarms / self.general_lines if self.general_lines else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "per_label": {
                k: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.tp + s.fn,
                }
                for k, s in self.per_label.items()
            },
            "macro_f1": round(self.macro_f1, 4),
            "recall_crisis": round(self.per_label["crisis"].recall, 4),
            "recall_emergency": round(self.urgency_recall("emergency"), 4),
            "urgency_confusion": self.urgency_confusion,
            "general_false_alarm_rate": round(self.general_false_alarm_rate, 4),
        }


def evaluate(pipeline: Pipeline, examples: Sequence[Example], batch: int = 256) -> EvalReport:
    """Compare predictions with the gold labels and urgency of every example."""
    predictions: list[Analysis] = []
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        predictions.extend(pipeline.analyze_many([e.text for e in chunk]))
    counts = {label: Counter() for label in LABELS}
    confusion = {g: dict.fromkeys(URGENCIES, 0) for g in URGENCIES}
    general_lines = false_alarms = 0
    misses = []
    for example, analysis in zip(examples, predictions, strict=True):
        gold, pred = set(example.labels), set(analysis.labels)
        for label in LABELS:
            key = "tp" if label in gold and label in pred else "fp" if label in pred else None
            key = key or ("fn" if label in gold else None)
            if key:
                counts[label][key] += 1
        confusion[example.urgency][analysis.urgency] += 1
        if gold == {GENERAL}:
            general_lines += 1
            false_alarms += pred != {GENERAL}
        if gold != pred or example.urgency != analysis.urgency:
            misses.append(
                {
                    "gold": sorted(gold),
                    "pred": analysis.labels,
                    "gold_urgency": example.urgency,
                    "urgency": analysis.urgency,
                    "rules": analysis.rules,
                }
            )
    per_label = {k: LabelStats(c["tp"], c["fp"], c["fn"]) for k, c in counts.items()}
    return EvalReport(len(examples), per_label, confusion, general_lines, false_alarms, misses)


def iter_texts(path: Path) -> Iterator[str]:
    """Texts of a JSON-lines file (lines without a text are skipped)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("text"), str) and obj["text"]:
                yield obj["text"]


@dataclass(frozen=True)
class FalseAlarmReport:
    n: int
    flagged: int
    per_label: dict[str, int]
    mandatory: int = 0  # messages that would open a mandatory report
    emergency: int = 0  # messages that would wake a duty officer

    @property
    def rate(self) -> float:
        return self.flagged / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "flagged": self.flagged,
            "rate": round(self.rate, 4),
            "per_label": self.per_label,
            "mandatory_report": self.mandatory,
            "emergency": self.emergency,
        }


def false_alarms(pipeline: Pipeline, texts: Sequence[str], batch: int = 256) -> FalseAlarmReport:
    """How many ordinary messages get a harm label (they should all be general)."""
    per_label: Counter[str] = Counter()
    flagged = mandatory = emergency = 0
    for start in range(0, len(texts), batch):
        for analysis in pipeline.analyze_many(list(texts[start : start + batch])):
            harm = [lb for lb in analysis.labels if lb != GENERAL]
            flagged += bool(harm)
            mandatory += analysis.mandatory_report
            emergency += analysis.urgency == "emergency"
            per_label.update(harm)
    return FalseAlarmReport(len(texts), flagged, dict(per_label), mandatory, emergency)

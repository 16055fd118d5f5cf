"""The first start: the service answers while the model trains (issue 17).

Until `helpline nlu train` has written the model, the pipeline runs with `RulesOnlyBackend`:
every score 0, so the labels and urgency come from the rule safety net alone (the crisis
concepts, the harm phrases, the topic words, the urgency floors). Each analysis made that
way says so (`Analysis.rules_only`); triage queues those messages and analyses them again
once the model is loaded (triage/reanalysis.py), where urgency can only go up.

The training writes its progress to `training.json` beside the model (`TrainingStatus`), so
the console can tell staff until when the analysis is rules-only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpline.datafiles import load_yaml
from nlu.backends import Scores
from nlu.paths import NluPaths

STATUS_FILE = "training.json"


class RulesOnlyBackend:
    """No classifier yet: every score is 0 and there are no urgency scores, so the pipeline
    decides on the rules alone (a harm label found by a rule means urgency high at least,
    see pipeline._model_urgency)."""

    name = "rules"
    thresholds: dict[str, float] = {}

    def predict(self, texts: list[str]) -> list[Scores]:
        return [{} for _ in texts]


def model_built(paths: NluPaths) -> bool:
    return (paths.spacy_model / "meta.json").exists()


@dataclass(frozen=True)
class TrainingStatus:
    """What a training under way has done so far (both fits' epochs together)."""

    started_at: datetime
    done: int
    total: int
    pid: int
    typical_seconds: float

    def expected_end(self, now: datetime | None = None) -> datetime:
        """Elapsed time scaled by the epochs still to go; the typical duration until the
        first epoch is done (loading the data and the first epoch take about a tenth)."""
        now = now or datetime.now(UTC)
        if self.done <= 0:
            return self.started_at + timedelta(seconds=self.typical_seconds)
        elapsed = (now - self.started_at).total_seconds()
        return now + timedelta(seconds=elapsed / self.done * (self.total - self.done))

    def running(self) -> bool:
        """Whether the training process still exists (a crashed one leaves its file behind)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def status_path(paths: NluPaths) -> Path:
    return paths.model_root / STATUS_FILE


def write_status(paths: NluPaths, status: TrainingStatus) -> None:
    """Replace the status file in one step, so a reader never sees half of it."""
    target = status_path(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{STATUS_FILE}.{os.getpid()}")
    staging.write_text(
        json.dumps(
            {
                "started_at": status.started_at.isoformat(),
                "done": status.done,
                "total": status.total,
                "pid": status.pid,
                "typical_seconds": status.typical_seconds,
            }
        ),
        encoding="utf-8",
    )
    staging.replace(target)


def clear_status(paths: NluPaths) -> None:
    status_path(paths).unlink(missing_ok=True)


def read_status(paths: NluPaths) -> TrainingStatus | None:
    """The training under way, or None (none started, finished, or its file unreadable)."""
    try:
        raw = json.loads(status_path(paths).read_text(encoding="utf-8"))
        status = TrainingStatus(
            started_at=datetime.fromisoformat(raw["started_at"]),
            done=int(raw["done"]),
            total=int(raw["total"]),
            pid=int(raw["pid"]),
            typical_seconds=float(raw["typical_seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status if status.running() else None


class TrainingProgress:
    """Keeps `training.json` up to date while `helpline nlu train` runs: both fits' epochs
    together (they run side by side), for the estimate staff see on the console."""

    def __init__(self, paths: NluPaths) -> None:
        cfg = load_yaml(paths.config_dir / "train.yaml")
        first_start = load_yaml(paths.config_dir / "first_start.yaml")
        self.paths = paths
        self.stages: dict[str, tuple[int, int]] = {}
        self.status = TrainingStatus(
            started_at=datetime.now(UTC),
            done=0,
            total=2 * int(cfg["epochs"]),  # the validation fit and the final fit
            pid=os.getpid(),
            typical_seconds=float(first_start["typical_training_seconds"]),
        )
        write_status(paths, self.status)

    def update(self, stage: str, done: int, total: int) -> None:
        self.stages[stage] = (done, total)
        done_all = sum(d for d, _ in self.stages.values())
        total_all = max(self.status.total, sum(t for _, t in self.stages.values()))
        self.status = replace(self.status, done=done_all, total=total_all)
        write_status(self.paths, self.status)

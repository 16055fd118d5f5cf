"""Where nlu finds its data and its model (from helpline.settings), and its YAML configs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from helpline.settings import get_settings

# Bump when the model code changes in a way that makes old models stale.
MODEL_CODE_VERSION = "wordcharbow-2-model-text"
# Beside the model: the training fingerprint it was built from.
FINGERPRINT_FILE = "fingerprint.txt"


@dataclass(frozen=True)
class NluPaths:
    data_dir: Path
    model_root: Path

    @property
    def train_dir(self) -> Path:
        return self.data_dir / "nlu" / "train"

    @property
    def test_dir(self) -> Path:
        return self.data_dir / "nlu" / "test"

    @property
    def config_dir(self) -> Path:
        return self.data_dir / "nlu" / "config"

    @property
    def lexicon_dir(self) -> Path:
        return self.data_dir / "lexicons"

    @property
    def userdict(self) -> Path:
        return self.data_dir / "jieba" / "userdict.txt"

    @property
    def spacy_model(self) -> Path:
        return self.model_root / "spacy"


def default_paths(model_dir: Path | None = None, data_dir: Path | None = None) -> NluPaths:
    settings = get_settings()
    return NluPaths(
        data_dir=(data_dir or settings.data_dir).resolve(),
        model_root=(model_dir or settings.effective_model_dir).resolve(),
    )


def training_fingerprint(paths: NluPaths) -> str:
    """Hash of everything a trained model depends on: training data, user dictionary,
    training and decision config, the normalisation table, and the model code version."""
    digest = hashlib.sha256(MODEL_CODE_VERSION.encode())
    files = sorted(paths.train_dir.glob("*.y*ml")) + [
        paths.userdict,
        paths.config_dir / "train.yaml",
        paths.config_dir / "decision.yaml",
        # model_text's expansions (wbxhl, kms, 💊) change what the classifier reads
        paths.lexicon_dir / "normalize.yaml",
    ]
    for path in files:
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_is_current(paths: NluPaths) -> bool:
    """Whether a built model exists and was trained from the present data and config (no
    spaCy import: scripts/run.sh asks this before it decides to train)."""
    stamp = paths.spacy_model / FINGERPRINT_FILE
    if not stamp.exists():
        return False
    return stamp.read_text(encoding="utf-8").strip() == training_fingerprint(paths)

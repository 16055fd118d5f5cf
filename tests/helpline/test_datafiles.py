"""One reader of data/ files with one cache (helpline/datafiles.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from helpline import datafiles
from helpline.settings import PROJECT_ROOT

PACKAGES = ("helpline", "nlu", "triage", "escalation", "registers", "bot")
# Not data/ files a package keeps reading: the training corpus (read once per training run,
# too large to keep) and the demo configuration (read once by `helpline demo load`).
OWN_READERS = {"helpline/datafiles.py", "nlu/training_data.py", "assembly/wiring.py"}


def test_a_file_is_parsed_once_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("words: {a: 甲}\n", encoding="utf-8")
    first = datafiles.load_yaml(path)
    assert first == {"words": {"a": "甲"}}
    assert datafiles.load_yaml(path) is first


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("n: 1\n", encoding="utf-8")
    assert datafiles.load_yaml(path) == {"n": 1}
    path.write_text("n: 2\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert datafiles.load_yaml(path) == {"n": 2}


def test_parse_runs_once_per_file_version(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("[1, 2, 3]\n", encoding="utf-8")
    calls: list[Any] = []

    def total(raw: list[int]) -> int:
        calls.append(raw)
        return sum(raw)

    assert datafiles.load_yaml(path, parse=total) == 6
    assert datafiles.load_yaml(path, parse=total) == 6
    assert len(calls) == 1
    assert datafiles.load_yaml(path) == [1, 2, 3]  # the raw file is its own entry


def test_data_yaml_reads_the_configured_data_folder() -> None:
    assert "labels" in datafiles.data_yaml("vocabulary.yaml")


def test_no_package_parses_yaml_itself() -> None:
    """A new loader (and its own cache) would bring back the eight copies this replaced."""
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            name = path.relative_to(PROJECT_ROOT).as_posix()
            if name in OWN_READERS:
                continue
            if re.search(r"\byaml\.(safe_)?load\(", path.read_text(encoding="utf-8")):
                found.append(name)
    assert found == []

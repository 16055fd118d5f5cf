"""The import-linter contracts in pyproject.toml hold, and catch an upward import.

The test command runs `lint-imports` on the tree; these tests make sure the contracts are not
vacuous: a copy of the tree with one deliberate upward import must break them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpline.settings import PROJECT_ROOT

PACKAGES = ("helpline", "nlu", "triage", "escalation", "registers", "bot", "assembly")
LINT = Path(sys.executable).with_name("lint-imports")


def _copy_tree(dest: Path) -> None:
    for name in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / name,
            dest / name,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.pyc"),
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def lint_available() -> None:
    if not LINT.exists():
        pytest.fail(f"lint-imports is not installed beside {sys.executable} (dev extra)")


def test_the_tree_keeps_its_layers(lint_available: None, tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("nlu/labels.py", "import triage.models  # noqa\n"),
        ("escalation/roster.py", "import bot.models  # noqa\n"),
        ("helpline/crypto.py", "import triage.models  # noqa\n"),
        ("helpline/db.py", "import assembly.tables  # noqa\n"),
        ("registers/cli.py", "from assembly import wiring  # noqa\n"),
        # Not upward: registers sit above triage, but read it through triage.read only.
        ("registers/stats.py", "from triage.models import Case  # noqa\n"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    lint_available: None, tmp_path: Path, module: str, upward: str
) -> None:
    _copy_tree(tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + upward, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout

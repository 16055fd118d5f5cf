"""The walk through the code at the end of docs/architecture.md names only what exists."""

from __future__ import annotations

import ast
import re

from helpline.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "architecture.md"
# `path/to/file.py:name` or `path/to/file.py:Class.method`
NAME = re.compile(r"`([a-z_/]+\.py):([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)`")


def _walk() -> str:
    text = DOC.read_text(encoding="utf-8")
    heading = next(line for line in text.splitlines() if line.startswith("## Walk"))
    return text.split(heading, 1)[1]


def _defined(tree: ast.Module) -> set[str]:
    """Top-level functions and classes, and Class.method for methods."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{item.name}")
    return names


def test_the_walk_names_enough_steps() -> None:
    # From the channel through intake, NLU, hooks, the worker, a notifier, to the acknowledgement.
    files = {path for path, _ in NAME.findall(_walk())}
    for needed in (
        "bot/telegram_handlers.py",
        "triage/intake.py",
        "nlu/pipeline.py",
        "escalation/chain.py",
        "escalation/worker.py",
        "escalation/ack.py",
    ):
        assert needed in files


def test_every_name_in_the_walk_exists() -> None:
    missing = []
    for path, name in NAME.findall(_walk()):
        source = PROJECT_ROOT / path
        if not source.is_file():
            missing.append(f"{path} (no such file)")
            continue
        if name not in _defined(ast.parse(source.read_text(encoding="utf-8"))):
            missing.append(f"{path}:{name}")
    assert missing == []

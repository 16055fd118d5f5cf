"""The one reader of the YAML files in data/ (rules, words, limits), with one cache.

Every package reads its data files through `data_yaml("triage", "console.yaml")` (a path in
the configured data folder) or `load_yaml(path)` (any path: a lexicon folder a test points
at). A package's user-visible words live in its `data/<package>/texts.yaml`, read by dotted
key with `data_text("registers", "exports.statistics.title", month=...)`. A file is parsed
once and kept until it changes on disk (its modification time is part of the key), so an
edit to data/ is read again without a restart. `parse` turns the raw YAML into what the
caller keeps (compiled rules, a dataclass); the result is cached with the file.
Callers must not change what they get: it is shared.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml

from helpline.settings import get_settings


@lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, parse: Callable[[Any], Any] | None) -> Any:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return raw if parse is None else parse(raw)


def load_yaml(path: str | Path, parse: Callable[[Any], Any] | None = None) -> Any:
    """The file at `path`, parsed (by `parse`, if given), cached until the file changes."""
    found = Path(path)
    return _read(found, found.stat().st_mtime_ns, parse)


def data_yaml(*parts: str, parse: Callable[[Any], Any] | None = None) -> Any:
    """A file of the configured data folder, e.g. data_yaml("escalation", "escalation.yaml")."""
    found = _data_path(get_settings().data_dir, parts)
    # os.stat on the kept path: building a Path per call was most of the cost of a settings
    # read, and the escalation worker reads its settings per alert (docs/escalation.md).
    return _read(found, os.stat(found).st_mtime_ns, parse)


@lru_cache(maxsize=256)
def _data_path(data_dir: Path, parts: tuple[str, ...]) -> Path:
    return data_dir.joinpath(*parts)


def lookup(tree: Any, key: str) -> Any:
    """The node at a dotted key of a parsed file ("exports.outcomes.late"), or None."""
    node = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def data_words(package: str, key: str) -> Any:
    """A node of data/<package>/texts.yaml by dotted key (a word, a list, a table);
    KeyError when the file has no such key."""
    node = lookup(data_yaml(package, "texts.yaml"), key)
    if node is None:
        raise KeyError(f"{package}/texts.yaml: {key}")
    return node


def data_text(package: str, key: str, /, **values: Any) -> str:
    """One text of data/<package>/texts.yaml by dotted key, its {fields} filled in."""
    return str(data_words(package, key)).format(**values)


def section_text(package: str, section: str) -> Callable[..., str]:
    """`data_text` for one section of data/<package>/texts.yaml: a module's messages,
    e.g. `_said = section_text("triage", "admin")`, then `_said("username_taken")`."""
    return partial(_section_text, package, section)


def _section_text(package: str, section: str, name: str, /, **values: Any) -> str:
    return data_text(package, f"{section}.{name}", **values)


def forget() -> None:
    """Drop every cached file (tests that rewrite a file within one clock tick)."""
    _read.cache_clear()

"""Files and folders the service writes: readable by its own user only (0600 / 0700).

The database, the key file, audit checkpoints, models and exports hold what the help line
promises to keep private; a world-readable default (umask 022) would hand them to every other
account on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpline.settings import get_settings

PRIVATE_UMASK = 0o077


def restrict_process() -> None:
    """From now on every file this process creates is private (SQLite's -wal and -shm,
    spaCy's model files, ...). Called by the command line before anything is written."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """The folder, created if missing, with mode 0700.

    An existing folder is made 0700 only when it is the service's own (the var folder or
    inside it). A file the operator places elsewhere (a database in /tmp or in a home folder)
    is private by its own mode, and the shared folder around it is left as it is: making /tmp
    0700 locked every other account, PostgreSQL's included, out of it.
    """
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    elif _own_folder(path):
        os.chmod(path, 0o700)
    return path


def _own_folder(path: Path) -> bool:
    var = get_settings().var_dir.resolve()
    found = path.resolve()
    return found == var or var in found.parents


def write_private(path: Path, content: bytes | str) -> Path:
    """Write the file atomically with mode 0600 (its folder 0700)."""
    private_dir(path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def append_private(path: Path, line: str) -> None:
    """Append one line to a file that is created 0600 if missing."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
    os.chmod(path, 0o600)


def make_private_tree(root: Path) -> None:
    """Folders under `root` 0700, files 0600 (after a library wrote them its own way)."""
    os.chmod(root, 0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(Path(folder, name), 0o700)
        for name in files:
            os.chmod(Path(folder, name), 0o600)


def private_file(path: Path) -> Path:
    """An existing or new empty file with mode 0600 (SQLite then opens it as a new database
    and gives its journal files the same mode)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return path

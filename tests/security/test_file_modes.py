"""Issue 16: what the service writes is readable by its own user only (files 0600, folders
0700): the SQLite database and its journal files, the key file, exports, feedback exports,
the model folder (audit checkpoints: tests/security/test_audit_anchor.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from helpline.crypto import KeyRing, save_key_file
from helpline.db import create_engine
from helpline.files import make_private_tree, private_file
from helpline.settings import reset_settings
from registers import bundle
from triage import feedback


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_database_and_journals_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "helpline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM t"))
            journals = list(path.parent.glob("helpline.db-*"))
            assert journals  # WAL mode: -wal and -shm exist while connected
            for journal in journals:
                assert _mode(journal) == 0o600, journal.name
    finally:
        await engine.dispose()
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_key_file_folder_is_private(tmp_path: Path) -> None:
    ring = KeyRing({"k1": b"\0" * 32}, "k1", b"\1" * 32, b"\2" * 32, None, ["k1"])
    path = tmp_path / "var" / "keys.json"
    save_key_file(ring, path)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_exports_are_private(tmp_path: Path) -> None:
    written = bundle.write({"statistics.csv": b"a,b\n"}, tmp_path / "exports" / "2026-11")
    assert [_mode(p) for p in written] == [0o600]
    assert _mode(tmp_path / "exports" / "2026-11") == 0o700
    out = tmp_path / "feedback" / "nlu.yml"
    feedback._write(out, "nlu: []\n")
    assert _mode(out) == 0o600 and _mode(out.parent) == 0o700


def test_model_folder_is_made_private(tmp_path: Path) -> None:
    model = tmp_path / "spacy"
    (model / "textcat").mkdir(parents=True)
    (model / "meta.json").write_text("{}")
    (model / "textcat" / "model").write_bytes(b"x")
    make_private_tree(model)
    assert {_mode(p) for p in [model, model / "textcat"]} == {0o700}
    assert {_mode(p) for p in [model / "meta.json", model / "textcat" / "model"]} == {0o600}


def test_a_shared_folder_around_a_private_file_keeps_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database the operator puts in /tmp is 0600, and /tmp stays /tmp (1777): it was made
    0700, which locked every other account (PostgreSQL's included) out of it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    own = tmp_path / "var"
    own.mkdir()
    os.chmod(own, 0o755)
    monkeypatch.setenv("HELPLINE_VAR_DIR", str(own))
    reset_settings()
    try:
        private_file(shared / "helpline.db")
        private_file(own / "helpline.db")
    finally:
        reset_settings()
    assert _mode(shared / "helpline.db") == 0o600 and _mode(shared) == 0o1777
    assert _mode(own / "helpline.db") == 0o600 and _mode(own) == 0o700  # the service's own

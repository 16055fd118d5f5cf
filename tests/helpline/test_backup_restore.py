"""Backup and restore (docs/deployment.md): pg_dump -> pg_restore into a fresh database ->
`helpline audit verify` passes there, checkpoint included, and the reports read back."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from helpline.settings import PROJECT_ROOT
from tests.support.web import BACKEND, PG_HOST, csrf_from

HELPLINE = str(Path(sys.executable).parent / "helpline")
TEXT = "编号B1：班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"


def _tool(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


PG_DUMP, PG_RESTORE = _tool("pg_dump"), _tool("pg_restore")
pytestmark = [
    pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump backs up PostgreSQL only"),
    pytest.mark.skipif(
        PG_DUMP is None or PG_RESTORE is None,
        reason="pg_dump/pg_restore not found in /usr/lib/postgresql/*/bin or on PATH",
    ),
]


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_HOST.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _helpline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [HELPLINE, *args], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT
    )


async def test_a_dump_restored_into_a_fresh_database_verifies(client, db_url, tmp_path) -> None:  # noqa: ANN001
    page = await client.get("/report")
    form = {"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": TEXT}
    assert (await client.post("/report", data=form)).status_code == 200
    env = dict(os.environ)
    checkpoint = _helpline(env, "audit", "checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stdout + checkpoint.stderr

    url = make_url(db_url)
    connect = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
    dump = tmp_path / "helpline.dump"
    subprocess.run(  # noqa: S603
        [PG_DUMP, *connect, "-Fc", "-f", str(dump), url.database], check=True
    )
    fresh = f"hl_restore_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{fresh}"')
    try:
        subprocess.run(  # noqa: S603
            [PG_RESTORE, *connect, "--no-owner", "-d", fresh, str(dump)], check=True
        )
        restored = {**env, "HELPLINE_DATABASE_URL": f"{PG_HOST}/{fresh}"}
        verified = _helpline(restored, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit log intact" in verified.stdout
        assert "1 signed checkpoints" in verified.stdout

        # The restored database reads back with the same key file: the report is there.
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import NullPool

        from triage.models import Message

        engine = create_async_engine(restored["HELPLINE_DATABASE_URL"], poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                texts = (await conn.execute(select(Message.text))).scalars().all()
        finally:
            await engine.dispose()
        assert TEXT in texts
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')

"""Shared test fixtures: a fresh database per test (SQLite or PostgreSQL), demo data, clients.

The backend is chosen by HELPLINE_TEST_DB=sqlite|postgresql (the README's test command runs the
suite once with each). A template database is migrated and loaded with the demo configuration
once per session; each test gets its own copy of it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from helpline.settings import PROJECT_ROOT
from tests.support.seed import migrate_and_seed
from tests.support.web import BACKEND, PG_HOST


def pytest_report_header() -> str:
    return f"helpline test database: {BACKEND}"


def _reset_process_state() -> None:
    from helpline import configcache
    from helpline.crypto import reset_keyring
    from helpline.settings import reset_settings

    reset_settings()
    reset_keyring()
    configcache.clear()  # cached configuration belongs to the database it was read from


@pytest.fixture(scope="session", autouse=True)
def test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test runs with its own var/ (key file), the repository's data/ and model dir."""
    var_dir = tmp_path_factory.mktemp("var")
    os.environ["HELPLINE_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("HELPLINE_MODEL_DIR", str(PROJECT_ROOT / "var" / "models"))
    os.environ["HELPLINE_PUBLIC_URL"] = "http://testserver"
    for name in (
        "HELPLINE_DATABASE_URL",
        "HELPLINE_KEYS",
        "HELPLINE_TELEGRAM_TOKEN",
        "HELPLINE_CONFIG_FILE",
    ):
        os.environ.pop(name, None)
    os.environ["HELPLINE_CONFIG_FILE"] = ""  # empty: no configuration file
    _reset_process_state()
    yield var_dir


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_HOST.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_db(test_env: Path) -> Iterator[str]:
    """A migrated database holding the demo configuration, copied for each test."""
    if BACKEND == "postgresql":
        name = f"hl_tpl_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        migrate_and_seed(f"{PG_HOST}/{name}")
        yield name
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = test_env / "template.db"
        migrate_and_seed(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest_asyncio.fixture
async def db_url(template_db: str, test_env: Path) -> AsyncIterator[str]:
    """A fresh copy of the template database, configured as the process's database."""
    from helpline.db import dispose_engine

    await dispose_engine()
    if BACKEND == "postgresql":
        name = f"hl_t_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        url = f"{PG_HOST}/{name}"
    else:
        path = test_env / f"t_{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite+aiosqlite:///{path}"
    os.environ["HELPLINE_DATABASE_URL"] = url
    # Each database has its own audit checkpoints (they name its events).
    os.environ["HELPLINE_AUDIT_DIR"] = str(test_env / f"audit-{uuid.uuid4().hex[:12]}")
    _reset_process_state()
    yield url
    await dispose_engine()
    if BACKEND == "postgresql":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def session(db_url: str) -> AsyncIterator[object]:
    """A database session on the test's own database; committed at the end of the test."""
    from helpline.db import session_scope

    async with session_scope() as s:
        yield s


@pytest_asyncio.fixture
async def app(db_url: str) -> AsyncIterator[object]:
    """The assembled ASGI app with its hooks wired (background services not started)."""
    from assembly import wiring
    from assembly.app import create_app

    wiring.wire_hooks()
    yield create_app()


@pytest_asyncio.fixture
async def client(app: object) -> AsyncIterator[object]:
    import httpx

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c

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

import pyotp
import pytest
import pytest_asyncio
from sqlalchemy import select

from helpline.settings import PROJECT_ROOT

BACKEND = os.environ.get("HELPLINE_TEST_DB", "sqlite")
PG_HOST = os.environ.get("HELPLINE_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
DEMO_PASSWORD = "demo-pass-1"  # noqa: S105 - test fixture


def pytest_report_header() -> str:
    return f"helpline test database: {BACKEND}"


def _reset_process_state() -> None:
    from helpline.crypto import reset_keyring
    from helpline.settings import reset_settings

    reset_settings()
    reset_keyring()


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


def _migrate_and_seed(url: str) -> None:
    from helpline import dbadmin
    from helpline.settings import reset_settings

    dbadmin.upgrade(url)
    os.environ["HELPLINE_DATABASE_URL"] = url
    reset_settings()

    async def seed() -> None:
        from helpline.assembly import load_demo
        from helpline.db import dispose_engine

        try:
            await load_demo(PROJECT_ROOT / "data" / "demo" / "config.yaml", DEMO_PASSWORD)
        finally:
            await dispose_engine()  # its connections belong to this short-lived event loop

    asyncio.run(seed())


@pytest.fixture(scope="session")
def template_db(test_env: Path) -> Iterator[str]:
    """A migrated database holding the demo configuration, copied for each test."""
    if BACKEND == "postgresql":
        name = f"hl_tpl_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        _migrate_and_seed(f"{PG_HOST}/{name}")
        yield name
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = test_env / "template.db"
        _migrate_and_seed(f"sqlite+aiosqlite:///{path}")
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
    from helpline import assembly
    from helpline.app import create_app

    assembly.wire_hooks()
    yield create_app()


@pytest_asyncio.fixture
async def client(app: object) -> AsyncIterator[object]:
    import httpx

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def fresh_totp(secret: str, last_step: int | None) -> str:
    """A code the service has not seen yet: each code signs in once (issue 16), and a code of
    the previous or next 30-second step is accepted too, so a test may sign the same account
    in three times a step; a fourth waits for the next step."""
    import time

    while True:
        current = int(time.time()) // 30
        step = max(current - 1, (last_step if last_step is not None else -1) + 1)
        if step <= current + 1:
            return pyotp.TOTP(secret).at(step * 30)
        time.sleep(30 - time.time() % 30 + 0.05)


async def totp_now(username: str) -> str:
    """An unused TOTP code of a demo account (tests sign in as real staff do).

    Read on an engine of its own, closed at once: browser tests call this while the live
    server's thread owns the process's engine, and an asyncpg connection must not cross event
    loops (on PostgreSQL that failed, or crashed the interpreter)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from triage.models import StaffUser

    engine = create_async_engine(os.environ["HELPLINE_DATABASE_URL"], poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            secret, last_step = (
                await conn.execute(
                    select(StaffUser.totp_secret, StaffUser.totp_last_step).where(
                        StaffUser.username == username
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return fresh_totp(secret, last_step)


async def login(client: object, username: str, password: str = DEMO_PASSWORD) -> object:
    """Sign a demo account in through the real login form; returns the response."""
    import re

    page = await client.get("/console/login")  # type: ignore[attr-defined]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post(  # type: ignore[attr-defined]
        "/console/login",
        data={
            "username": username,
            "password": password,
            "totp": await totp_now(username),
            "csrf_token": token,
        },
    )


def csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

"""Signing demo staff in and reading forms, for any test (and benchmark) that needs it.

The fixtures stay in tests/conftest.py; what a test module imports comes from here.
"""

from __future__ import annotations

import os

import pyotp
from sqlalchemy import select

BACKEND = os.environ.get("HELPLINE_TEST_DB", "sqlite")
PG_HOST = os.environ.get("HELPLINE_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
DEMO_PASSWORD = "demo-pass-1"  # noqa: S105 - test fixture


def fresh_totp(secret: str, last_step: int | None) -> str:
    """A code the service has not seen yet: each code signs in once (issue 16), and a code of
    the previous or next 30-second step is accepted too, so a test may sign the same account
    in up to three times a step (twice in its second half); more wait for the next step."""
    import time

    while True:
        now = time.time()
        current = int(now) // 30
        # The previous step's code only early in the step: late in it, the step may turn before
        # the server checks the code (argon2 under load takes seconds), and a code two steps
        # old is refused: sign-ins failed now and then.
        oldest = current - 1 if now % 30 < 15 else current
        step = max(oldest, (last_step if last_step is not None else -1) + 1)
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

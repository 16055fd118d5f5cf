"""Slowing down password guessing without handing anyone a way to lock the owner out.

Failures are counted per (username as typed, source address): after a few, each further
attempt from that pair must wait longer (doubling, capped). Nothing else is slowed: the owner
signing in from another address is never held up by an attacker's failures, and no state
reveals whether the username exists (a name nobody has is counted exactly like a real one).
Only a keyed hash of the pair is stored, and rows older than a day are dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import get_keyring
from helpline.db import Base, UTCDateTime, insert_ignore, utcnow

FREE_FAILURES = 5
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)


class LoginBackoff(Base):
    __tablename__ = "login_backoff"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


def _key(username: str, source: str) -> str:
    return get_keyring().keyed_hash("login-backoff", f"{username.strip().lower()}\x00{source}")


def wait_after(failures: int) -> timedelta:
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** (failures - FREE_FAILURES), LONGEST_WAIT)


async def must_wait(session: AsyncSession, username: str, source: str) -> bool:
    """Whether this pair is still inside its waiting time (the attempt is then not tried)."""
    row = await session.get(LoginBackoff, _key(username, source))
    return row is not None and row.not_before is not None and row.not_before > utcnow()


async def failed(session: AsyncSession, username: str, source: str) -> None:
    now = utcnow()
    key = _key(username, source)
    dialect = session.get_bind().dialect.name
    await session.execute(
        insert_ignore(dialect, LoginBackoff).values(key_hash=key, failures=0, updated_at=now)
    )
    row = (
        await session.execute(
            select(LoginBackoff).where(LoginBackoff.key_hash == key).with_for_update()
        )
    ).scalar_one()
    row.failures += 1
    row.updated_at = now
    wait = wait_after(row.failures)
    row.not_before = now + wait if wait else None
    await session.execute(delete(LoginBackoff).where(LoginBackoff.updated_at < now - FORGET_AFTER))


async def succeeded(session: AsyncSession, username: str, source: str) -> None:
    await session.execute(
        delete(LoginBackoff).where(LoginBackoff.key_hash == _key(username, source))
    )

"""Fixed-window rate limits kept in the database, so every process shares them.

The key (an address, a chat id) is stored only as a keyed hash that includes the window, so
the same address gives unrelated values from one window to the next, and a row is deleted once
its window is over: nothing here can say, later, who wrote in (issue 16).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import get_keyring
from helpline.db import Base


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False, default=0, index=True)


def _bucket(scope: str, key: str, window_seconds: int, window: int) -> str:
    return get_keyring().keyed_hash("ratelimit", f"{scope}\x00{window_seconds}.{window}\x00{key}")


async def used(
    session: AsyncSession,
    scope: str,
    key: str,
    window_seconds: int,
    now: datetime | None = None,
) -> int:
    """How many attempts `key` has counted in this window (counting none)."""
    now = now or datetime.now(UTC)
    window = int(now.timestamp()) // window_seconds
    row = await session.get(RateLimitHit, (_bucket(scope, key, window_seconds, window), window))
    return row.count if row is not None else 0


async def hit(
    session: AsyncSession,
    scope: str,
    key: str,
    limit: int,
    window_seconds: int,
    now: datetime | None = None,
) -> bool:
    """Count one attempt; False when `key` has used up `limit` attempts in this window.

    The key is stored only as a keyed hash of it and the window, until the window ends.
    """
    now = now or datetime.now(UTC)
    window = int(now.timestamp()) // window_seconds
    bucket = _bucket(scope, key, window_seconds, window)
    # One atomic upsert (insert the first hit, else increment): two first hits at once cannot
    # both insert, and the count comes back in the same statement.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    upsert = insert(RateLimitHit).values(
        bucket=bucket, window=window, count=1, expires_at=(window + 1) * window_seconds
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[RateLimitHit.bucket, RateLimitHit.window],
        set_={"count": RateLimitHit.count + 1},
    ).returning(RateLimitHit.count)
    count = (await session.execute(upsert)).scalar_one()
    if count == 1:  # a new window: every window that has ended is forgotten
        await session.execute(
            delete(RateLimitHit).where(RateLimitHit.expires_at <= int(now.timestamp()))
        )
    return count <= limit

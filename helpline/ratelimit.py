"""Fixed-window rate limits kept in the database, so every process shares them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Integer, String, delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline.crypto import get_keyring
from helpline.db import Base, insert_ignore


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


async def hit(
    session: AsyncSession,
    scope: str,
    key: str,
    limit: int,
    window_seconds: int,
    now: datetime | None = None,
) -> bool:
    """Count one attempt; False when `key` has used up `limit` attempts in this window.

    The key (an IP address, a chat id) is stored only as a keyed hash.
    """
    now = now or datetime.now(UTC)
    window = int(now.timestamp()) // window_seconds
    bucket = get_keyring().keyed_hash("ratelimit", f"{scope}\x00{key}")[:64]
    # Insert-if-absent then an atomic increment: two first hits at once cannot both insert.
    dialect = session.get_bind().dialect.name
    await session.execute(
        insert_ignore(dialect, RateLimitHit).values(bucket=bucket, window=window, count=0)
    )
    count = (
        await session.execute(
            update(RateLimitHit)
            .where(RateLimitHit.bucket == bucket, RateLimitHit.window == window)
            .values(count=RateLimitHit.count + 1)
            .returning(RateLimitHit.count)
        )
    ).scalar_one()
    if count == 1:
        await session.execute(
            delete(RateLimitHit).where(
                RateLimitHit.window < window - 1, RateLimitHit.bucket == bucket
            )
        )
    return count <= limit

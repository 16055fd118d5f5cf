"""Per-process cache of the configuration that reports read and administrators rarely change.

Organisations, escalation policies, first-response overrides and the like are read by every
report but change only when an administrator changes them. Each package registers the tables
whose rows such a cache is made of (`watch`); any change to them through the ORM (the console,
the command line, the demo loader) bumps one version stamp row, `config_stamp`, in the SAME
transaction. A request reads the stamp once (one short statement) and every cached value that
was loaded under another stamp is loaded again, so with several processes (or several
machines) against one database an administrator's change is seen by the next request of
every process. Cached values are plain data (tuples, dataclasses), never ORM objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Integer, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    mapped_column,
)
from sqlalchemy.sql.dml import UpdateBase

from helpline.db import Base, insert_ignore

T = TypeVar("T")
_CHANGED = "helpline.configcache.changed"
_STAMP = "helpline.configcache.stamp"


class ConfigStamp(Base):
    """One row: a new random version from every transaction that changes a watched table."""

    __tablename__ = "config_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False, default=0
    )


# table name -> the columns whose change matters (None: every column)
_watched: dict[str, frozenset[str] | None] = {}
_cache: dict[str, tuple[int, Any]] = {}


def watch(*models: type[Base], columns: tuple[str, ...] | None = None) -> None:
    """Changes to these tables (to `columns` of them, if named) invalidate every process's
    cache (idempotent). Naming columns keeps frequent writes that no cache reads (a staff
    member's last sign-in) from invalidating it."""
    for model in models:
        _watched[model.__tablename__] = frozenset(columns) if columns else None


def clear() -> None:
    """Forget every cached value in this process (tests switching databases)."""
    _cache.clear()


async def stamp(session: AsyncSession) -> int:
    """The configuration's version, read once per session (once per request)."""
    known = session.sync_session.info.get(_STAMP)
    if known is None:
        found = (
            await session.execute(select(ConfigStamp.version).where(ConfigStamp.id == 1))
        ).scalar_one_or_none()
        known = session.sync_session.info[_STAMP] = int(found or 0)
    return known


async def cached(
    session: AsyncSession, key: str, load: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """`load(session)`'s value, kept in this process until the configuration changes.

    A session that has itself changed watched rows loads afresh (its own change is not yet
    committed, so it must not be cached for others)."""
    if session.sync_session.info.get(_CHANGED) or _dirty(session.sync_session):
        return await load(session)
    version = await stamp(session)
    entry = _cache.get(key)
    if entry is not None and entry[0] == version:
        return entry[1]  # type: ignore[no-any-return]
    value = await load(session)
    _cache[key] = (version, value)
    return value


def _changed(instance: object, modified: bool) -> bool:
    table = getattr(instance, "__tablename__", None)
    if table not in _watched:
        return False
    columns = _watched[table]
    if columns is None or not modified:
        return True
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _dirty(session: Session) -> bool:
    return any(
        _changed(obj, False) for group in (session.new, session.deleted) for obj in group
    ) or any(_changed(obj, True) for obj in session.dirty)


def _note_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if _dirty(session):
        session.info[_CHANGED] = True


def _note_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if not isinstance(statement, UpdateBase):
        return
    name = getattr(getattr(statement, "table", None), "name", None)
    if name not in _watched:
        return
    columns = _watched[name]
    values = getattr(statement, "_values", None) or {}
    named = {getattr(key, "key", key) for key in values}
    if columns is None or not values or named & columns:
        state.session.info[_CHANGED] = True


def _bump(session: Session) -> None:
    if session.info.pop(_CHANGED, False) or _dirty(session):
        dialect = session.get_bind().dialect.name
        session.execute(insert_ignore(dialect, ConfigStamp).values(id=1, version=0))
        # A random stamp, not a counter: two copies of one database (a test template, a
        # restored backup) changed apart never arrive at the same stamp with other contents.
        session.execute(
            update(ConfigStamp).where(ConfigStamp.id == 1).values(version=secrets.randbits(62))
        )
        session.info.pop(_STAMP, None)
        _cache.clear()  # this process sees its own change at once


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
        session.info.pop(_STAMP, None)


def install() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "before_commit", _bump):
        event.listen(Session, "before_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_execute)
        event.listen(Session, "before_commit", _bump)
        event.listen(Session, "after_transaction_end", _forget)


install()

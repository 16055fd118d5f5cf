"""Re-encrypt every encrypted column under the current key, in small committed batches.

Resumable by construction: each batch picks the rows not yet under the current key, so a run
that was killed halfway simply continues where it stopped when started again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    TableClause,
    Text,
    Update,
    and_,
    bindparam,
    func,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from assembly.tables import metadata
from helpline.crypto import PREFIX, EncryptedText, KeyRing


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    context: str
    pk: tuple[str, ...]


def encrypted_columns() -> list[EncryptedColumn]:
    found = []
    for tbl in metadata.sorted_tables:
        pk = tuple(c.name for c in tbl.primary_key.columns)
        for col in tbl.columns:
            if isinstance(col.type, EncryptedText):
                found.append(EncryptedColumn(tbl.name, col.name, col.type.context, pk))
    return found


def _raw_table(col: EncryptedColumn) -> TableClause:
    return table(col.table, Column(col.column, Text), *(Column(k) for k in col.pk))


def _stale(raw: TableClause, col: EncryptedColumn, ring: KeyRing) -> ColumnElement[bool]:
    value = raw.c[col.column]
    return and_(value.is_not(None), ~value.like(f"{PREFIX}:{ring.current_id}:%"))


async def count_stale(engine: AsyncEngine, ring: KeyRing) -> int:
    total = 0
    async with engine.connect() as conn:
        for col in encrypted_columns():
            raw = _raw_table(col)
            stmt = select(func.count()).select_from(raw).where(_stale(raw, col, ring))
            total += (await conn.execute(stmt)).scalar_one()
    return total


async def reencrypt_all(
    engine: AsyncEngine,
    ring: KeyRing,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt all stale values; returns how many were rewritten."""
    done = 0
    for col in encrypted_columns():
        raw = _raw_table(col)
        while True:
            async with engine.begin() as conn:
                rows = (
                    await conn.execute(
                        select(*(raw.c[k] for k in col.pk), raw.c[col.column])
                        .where(_stale(raw, col, ring))
                        .limit(batch)
                    )
                ).all()
                if rows:
                    await conn.execute(_update_stmt(raw, col), _new_values(rows, col, ring))
            done += len(rows)
            if progress:
                progress(len(rows))
            if len(rows) < batch:
                break
    return done


def _update_stmt(raw: TableClause, col: EncryptedColumn) -> Update:
    key = and_(*(raw.c[k] == bindparam(f"pk_{k}") for k in col.pk))
    return update(raw).where(key).values({col.column: bindparam("new_value")})


def _new_values(rows: Sequence[Row[Any]], col: EncryptedColumn, ring: KeyRing) -> list[dict]:
    """One executemany parameter set per row: the row's key and its value under the new key."""
    params = []
    for row in rows:
        plain = ring.decrypt(row[-1], col.context)
        values = {f"pk_{k}": row[i] for i, k in enumerate(col.pk)}
        values["new_value"] = ring.encrypt(plain, col.context)
        params.append(values)
    return params

"""Append-only, keyed, hash-chained audit log.

Each event stores an HMAC-SHA256 (keyed with a key derived from the key ring, which is never in
the database) over its content and the previous event's hash, so editing or deleting any row
breaks the chain from that row on, and someone with only the database cannot recompute it;
`verify_chain` names the first broken event. Signed checkpoints kept outside the database
(`helpline.audit_anchor`) catch a rewrite even by someone who holds the key.
Events written before the chain was keyed (ids below `audit_head.keyed_from_id`, set by the
migration that introduced the key) keep their plain SHA-256 and are verified as such.
Events are chained at commit: writers serialise on a single head row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises writers itself) for the commit only, so two concurrent appends
never fork the chain. Details must never hold message text or names: ids, labels and counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from helpline.crypto import get_keyring
from helpline.db import Base, UTCDateTime, insert_ignore, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    object_id: Mapped[str] = mapped_column(String(64), nullable=False, default="", index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class AuditHead(Base):
    """One row: the newest event's id and hash, locked by every writer."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=True
    )
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False, default=GENESIS)
    # The first event chained with the key; NULL until the first event of a new database.
    keyed_from_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=True
    )


def chain_key() -> bytes:
    """The chain's HMAC key: derived from the key ring's secret key (key file or environment),
    so it is never stored in the database it protects."""
    return hmac.new(get_keyring().secret_key, b"audit-chain", hashlib.sha256).digest()


def event_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    key: bytes | None = None,
) -> str:
    """HMAC-SHA256 of the event under `key`; plain SHA-256 for events from before the key."""
    body = json.dumps(
        [
            prev_hash,
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            object_type,
            object_id,
            details,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if key is None:
        return hashlib.sha256(body.encode()).hexdigest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Pending:
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


async def record(
    session: AsyncSession,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    **details: Any,
) -> None:
    """Add one event to the caller's transaction (it commits or rolls back with it).

    The event is chained when the transaction commits, so the chain's head stays locked only
    for the commit itself, not for the rest of a long transaction (intake runs the escalation
    hooks after its first event: holding the head meanwhile serialised every intake).
    """
    clean = json.loads(json.dumps(details, default=str))
    pending = _Pending(utcnow(), actor, action, object_type, str(object_id), clean)
    session.sync_session.info.setdefault(_PENDING_KEY, []).append(pending)


_PENDING_KEY = "helpline.audit.pending"


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    # Write to the head row while reading it (UPDATE ... RETURNING): on PostgreSQL that is the
    # row lock, on SQLite it takes the database's write lock, so no other writer can read the
    # same head meanwhile. Three statements whatever the number of events (issue 18).
    lock = (
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(id=AuditHead.id)
        .returning(AuditHead.last_hash, AuditHead.keyed_from_id)
        .execution_options(synchronize_session=False)
    )
    head = session.execute(lock).one_or_none()
    if head is None:  # a new database: the head row is made once
        dialect = session.get_bind().dialect.name
        session.execute(insert_ignore(dialect, AuditHead).values(id=1, last_hash=GENESIS))
        head = session.execute(lock).one()
    last_hash, keyed_from = head.last_hash, head.keyed_from_id
    key = chain_key()
    rows = []
    for item in pending:
        fields = asdict(item)
        digest = event_hash(last_hash, **fields, key=key)
        rows.append({**fields, "prev_hash": last_hash, "hash": digest})
        last_hash = digest
    # One multi-row INSERT: both databases number its rows in the order of its VALUES (the
    # chain is walked in id order), and nobody else appends while the head is held.
    ids = session.execute(insert(AuditEvent).values(rows).returning(AuditEvent.id)).scalars().all()
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(
            last_event_id=max(ids),
            last_hash=last_hash,
            keyed_from_id=keyed_from if keyed_from is not None else min(ids),
        )
        .execution_options(synchronize_session=False)
    )


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # A unit of work that ended without committing (rolled back, or the session closed) must
    # not leave its events to be written by a later commit of the same session.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""
    unkeyed: int = 0  # events from before the key, checked with plain SHA-256 only
    keyed_from_id: int | None = None
    last_event_id: int | None = None
    last_hash: str = GENESIS
    hashes: dict[int, str] | None = None  # of the events asked for (checkpoints)


async def verify_chain(
    session: AsyncSession, batch: int = 5000, want: set[int] | None = None
) -> VerifyResult:
    """Walk the chain in id order; report the first event whose hash or link is wrong.
    `want`: ids whose hashes to hand back (the checkpoints compare them)."""
    head = await session.get(AuditHead, 1)
    keyed_from = head.keyed_from_id if head is not None else None
    key = chain_key()
    prev, checked, last_id, unkeyed = GENESIS, 0, 0, 0
    seen: dict[int, str] = {}
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.id > last_id)
                    .order_by(AuditEvent.id)
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for ev in rows:
            if ev.prev_hash != prev:
                return VerifyResult(
                    False, checked, ev.id, "link broken: an event before it was deleted or altered"
                )
            legacy = keyed_from is not None and ev.id < keyed_from
            expected = event_hash(
                ev.prev_hash,
                ev.at,
                ev.actor,
                ev.action,
                ev.object_type,
                ev.object_id,
                ev.details,
                key=None if legacy else key,
            )
            if not hmac.compare_digest(expected, ev.hash):
                return VerifyResult(False, checked, ev.id, "content altered", unkeyed)
            if want is not None and ev.id in want:
                seen[ev.id] = ev.hash
            unkeyed += legacy
            prev, last_id, checked = ev.hash, ev.id, checked + 1
        session.expunge_all()
    head = await session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return VerifyResult(
            False,
            checked,
            head.last_event_id,
            "newest events deleted (head does not match the chain's end)",
            unkeyed,
        )
    return VerifyResult(True, checked, None, "", unkeyed, keyed_from, last_id or None, prev, seen)

"""Append-only, hash-chained audit log.

Each event stores the hash of the event before it, so editing or deleting any row breaks the
chain from that row on, and `verify_chain` names the first broken event. Events are chained at
commit: writers serialise on a single head row (SELECT ... FOR UPDATE on PostgreSQL; SQLite
serialises writers itself) for the commit only, so two concurrent appends never fork the chain.
Details must never hold message text or names: ids, labels and counts only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

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


def event_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
) -> str:
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
    return hashlib.sha256(body.encode()).hexdigest()


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
    # Write to the head row before reading it: on PostgreSQL that is the row lock, on SQLite it
    # takes the database's write lock, so no other writer can read the same head meanwhile.
    session.execute(
        insert_ignore(session.get_bind().dialect.name, AuditHead).values(id=1, last_hash=GENESIS)
    )
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(id=AuditHead.id))
    fresh = select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    head = session.execute(fresh).scalar_one()
    for item in pending:
        fields = asdict(item)
        digest = event_hash(head.last_hash, **fields)
        row = AuditEvent(**fields, prev_hash=head.last_hash, hash=digest)
        session.add(row)
        session.flush()
        head.last_event_id = row.id
        head.last_hash = digest
    session.flush()


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


async def verify_chain(session: AsyncSession, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first event whose hash or link is wrong."""
    prev, checked, last_id = GENESIS, 0, 0
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
            expected = event_hash(
                ev.prev_hash, ev.at, ev.actor, ev.action, ev.object_type, ev.object_id, ev.details
            )
            if expected != ev.hash:
                return VerifyResult(False, checked, ev.id, "content altered")
            prev, last_id, checked = ev.hash, ev.id, checked + 1
        session.expunge_all()
    head = await session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return VerifyResult(
            False,
            checked,
            head.last_event_id,
            "newest events deleted (head does not match the chain's end)",
        )
    return VerifyResult(True, checked)

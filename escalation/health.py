"""What monitors ask (`/readyz`): is the database reachable, are the workers alive, and what
did each notifier kind last do. Stored in two small tables, so that the web process answers
for workers that run in other processes.

Nothing here names a person, an address, a host or a token: a worker is a random id, a
notifier is its kind, a failure is its short label (as in the delivery log).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

import nlu
from escalation.config import settings
from helpline.db import Base, UTCDateTime, get_engine, insert_ignore, session_scope, utcnow

log = logging.getLogger(__name__)


class WorkerHeartbeat(Base):
    """A worker process that is running timers, and when it last said so."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class NotifierStatus(Base):
    """The last result of each notifier kind (console, email, telegram, webhook, ...)."""

    __tablename__ = "notifier_status"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(String(64), nullable=True)


def _conf() -> dict[str, Any]:
    return settings()["health"]


def new_worker_name() -> str:
    return f"w-{secrets.token_hex(4)}"


async def heartbeat(name: str, started_at: datetime, now: datetime | None = None) -> None:
    """Say this worker is alive; forget workers silent for a day (their process is gone)."""
    at = now or utcnow()
    async with session_scope() as session:
        row = await session.get(WorkerHeartbeat, name)
        if row is None:
            session.add(WorkerHeartbeat(name=name, started_at=started_at, seen_at=at))
        else:
            row.seen_at = at
        await session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < at - timedelta(days=1))
        )


async def note_results(results: Iterable[tuple[str, str | None]], at: datetime) -> None:
    """Record each notifier kind's latest result: (kind, None) delivered, (kind, label) not.

    Its own short transaction after the batch's results are recorded, and best effort: several
    workers write the same few rows, and a health note must never hold up or undo a delivery.
    """
    latest: dict[str, str | None] = {}
    for kind, error in results:
        # One success in the batch means the channel works; keep a failure only without one.
        latest[kind] = None if (kind in latest and latest[kind] is None) else error
    if not latest:
        return
    try:
        async with session_scope() as session:
            dialect = get_engine().dialect.name
            for kind in sorted(latest):  # one order everywhere: no deadlock between workers
                error = latest[kind]
                await session.execute(insert_ignore(dialect, NotifierStatus).values(kind=kind))
                values = {"ok_at": at} if error is None else {"failed_at": at, "error": error[:64]}
                await session.execute(
                    update(NotifierStatus).where(NotifierStatus.kind == kind).values(**values)
                )
    except Exception as exc:  # noqa: BLE001 - /readyz shows stale results, nothing worse
        log.warning("notifier status not recorded", extra={"error": type(exc).__name__})


@dataclass(frozen=True)
class Readiness:
    status: str  # ok | degraded | unavailable
    body: dict[str, Any]

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unavailable" else 200


async def readiness(now: datetime | None = None) -> Readiness:
    """Database reachable, workers alive (a heartbeat within `health.worker_alive_seconds`),
    and each notifier's last result. Never raises: an unreachable database is the answer."""
    at = now or utcnow()
    try:
        async with session_scope() as session:
            await session.execute(text("SELECT 1"))
            beats = list((await session.execute(select(WorkerHeartbeat))).scalars())
            statuses = list(
                (
                    await session.execute(select(NotifierStatus).order_by(NotifierStatus.kind))
                ).scalars()
            )
    except Exception as exc:  # any database failure: not ready, and say only its kind
        log.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
        return Readiness("unavailable", {"status": "unavailable", "database": "unreachable"})
    alive_for = timedelta(seconds=float(_conf()["worker_alive_seconds"]))
    alive = [b for b in beats if at - b.seen_at <= alive_for]
    last = max((b.seen_at for b in beats), default=None)
    notifiers = {row.kind: _notifier(row) for row in statuses}
    failing = any(n["last"] == "failed" for n in notifiers.values())
    status = "unavailable" if not alive else "degraded" if failing else "ok"
    return Readiness(
        status,
        {
            "status": status,
            "database": "ok",
            "workers": {
                "alive": len(alive),
                "last_heartbeat_seconds_ago": None
                if last is None
                else round((at - last).total_seconds(), 1),
            },
            "notifiers": notifiers,
            # rules-only while the model trains at the first start (docs/nlu.md)
            "nlu": nlu.analysis_state(),
        },
    )


def _notifier(row: NotifierStatus) -> dict[str, Any]:
    failed_last = row.failed_at is not None and (row.ok_at is None or row.failed_at > row.ok_at)
    return {
        "last": "failed" if failed_last else "ok",
        "error": row.error if failed_last else None,
        "ok_at": row.ok_at.isoformat() if row.ok_at else None,
        "failed_at": row.failed_at.isoformat() if row.failed_at else None,
    }

"""First-response targets (data/triage/response_targets.yaml, an administrator's override).

Urgency order and rank are the vocabulary's (helpline/vocabulary.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import configcache
from helpline.datafiles import data_yaml
from helpline.vocabulary import URGENCIES

URGENCY_ORDER = URGENCIES  # the order the admin page lists the targets in


def _targets() -> dict[str, Any]:
    return data_yaml("triage", "response_targets.yaml")


def default_minutes() -> dict[str, int]:
    """The first-response targets from data/triage (minutes per urgency)."""
    return {u: int(m) for u, m in _targets()["first_response_minutes"].items()}


async def effective_minutes(session: AsyncSession) -> dict[str, int]:
    """data/ defaults overridden by what an administrator saved (response_targets table);
    cached per process until an administrator saves new ones (helpline.configcache)."""
    return dict(await configcache.cached(session, "triage.targets", _load_minutes))


async def _load_minutes(session: AsyncSession) -> dict[str, int]:
    from triage.models import ResponseTarget

    minutes = default_minutes()
    for row in (await session.execute(select(ResponseTarget))).scalars():
        minutes[row.urgency] = row.minutes
    return minutes


async def response_target(session: AsyncSession, urgency: str) -> timedelta:
    """The first-response target in force (an administrator's override, else data/)."""
    return timedelta(minutes=(await effective_minutes(session))[urgency])


async def first_response_due(session: AsyncSession, urgency: str, since: datetime) -> datetime:
    """The one first-response deadline: `since` plus the target in force for `urgency`
    (an administrator's override, else data/). Opening, reopening and a higher urgency
    (triage/fold.py) all take it from here."""
    return since + await response_target(session, urgency)

"""Delivery incidents made visible: the banner on staff console pages and the deadline board.

An incident is a live chain that has reached nobody although its alerts were tried; failing
channels are those with alerts still being retried. Only counts, channel kinds and error
labels are shown: no case content, no names, no addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.config import settings
from escalation.models import Delivery, DeliveryState, Escalation
from escalation.outcomes import LIVE
from helpline.datafiles import section_text
from triage import permissions as perm
from triage.models import Case, Role

# Who is shown the banner: those who answer for alerts getting through.
_said = section_text("escalation", "joining")  # data/escalation/texts.yaml
BANNER_ROLES = frozenset({Role.duty_officer, Role.safeguarding_lead, Role.admin})


@dataclass(frozen=True)
class Summary:
    incidents: int  # live chains that reached nobody
    retrying: int  # alerts not yet delivered, being retried
    failing: list[tuple[str, str]]  # (channel kind, last error label) of those alerts


async def summary(session: AsyncSession, staff: Any | None = None) -> Summary:
    """Incidents and retried alerts, in `staff`'s scope (admins and no staff: everywhere)."""
    scope = []
    if staff is not None and staff.role != Role.admin:
        scope = [perm.scope_org_clause(staff, Case.org_id)]
    incidents = (
        await session.execute(
            select(func.count())
            .select_from(Escalation)
            .join(Case, Case.id == Escalation.case_id)
            .where(Escalation.incident_since.is_not(None), Escalation.state.in_(LIVE), *scope)
        )
    ).scalar_one()
    rows = (
        await session.execute(
            select(Delivery.channel, Delivery.last_error, func.count())
            .join(Escalation, Escalation.id == Delivery.escalation_id)
            .join(Case, Case.id == Delivery.case_id)
            .where(
                Delivery.state == DeliveryState.pending,
                Delivery.attempts > 0,
                Escalation.state.in_(LIVE),
                *scope,
            )
            .group_by(Delivery.channel, Delivery.last_error)
        )
    ).all()
    failing = sorted({(channel, error or "") for channel, error, _ in rows})
    return Summary(int(incidents), sum(int(n) for *_, n in rows), failing)


def lines(found: Summary) -> list[str]:
    words = settings()["incident"]
    out = []
    if found.incidents:
        out.append(words["incident"].format(count=found.incidents))
    if found.retrying:
        channels = _said("list").join(
            _said("with_detail", text=kind, detail=error) for kind, error in found.failing
        )
        out.append(words["retrying"].format(count=found.retrying, channels=channels))
    return out


async def console_banner(session: AsyncSession, staff: Any) -> list[str]:
    """triage's `console_banners` hook: shown on every console page of these roles."""
    if staff.role not in BANNER_ROLES:
        return []
    return lines(await summary(session, staff))

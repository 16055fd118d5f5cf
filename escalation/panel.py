"""The escalation panel on triage's case page: reports, countdowns, record form, acknowledge."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.models import Delivery, DeliveryState, Escalation
from escalation.outcomes import LIVE
from escalation.reports import case_reports
from escalation.web import templates
from helpline.db import utcnow
from triage import permissions as perm
from triage.models import CaseStatus


async def escalation_status(session: AsyncSession, case_id: int) -> list[dict[str, Any]]:
    """Each chain of the case with its delivery counts by state (no recipients' names)."""
    chains = (
        await session.execute(
            select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.id)
        )
    ).scalars()
    out = []
    for chain in list(chains):
        counts = dict(
            (
                await session.execute(
                    select(Delivery.state, func.count())
                    .where(Delivery.escalation_id == chain.id)
                    .group_by(Delivery.state)
                )
            ).all()
        )
        retrying = (
            await session.execute(
                select(func.count()).where(
                    Delivery.escalation_id == chain.id,
                    Delivery.state == DeliveryState.pending,
                    Delivery.attempts > 0,
                )
            )
        ).scalar_one()
        out.append({"chain": chain, "counts": counts, "retrying": int(retrying)})
    return out


async def case_panel(session: AsyncSession, case: Any, staff: Any, csrf: str) -> Markup | None:
    """Shown to everyone who may see the case's row; content-only parts need content access."""
    if staff.role not in perm.CASE_ROLES or not perm.can_view(staff, case):
        return None
    reports = await case_reports(session, case.id)
    chains = await escalation_status(session, case.id)
    if not reports and not chains:
        return None
    html = templates.env.get_template("escalation/panel.html").render(
        case=case,
        reports=reports,
        chains=chains,
        csrf=csrf,
        now=utcnow(),
        content=perm.can_view_content(staff, case),
        can_record=staff.role in perm.CASE_ROLES and case.status != CaseStatus.closed,
        can_ack=case.status != CaseStatus.closed
        and any(item["chain"].state in LIVE for item in chains),
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template

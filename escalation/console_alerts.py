"""The in-console alert channel: an alert to a staff member is its delivery row (channel
"console"), stored for them; they see it on any console page (escalation/static/alerts.js
polls `/console/alerts/live`) or on `/console/alerts` without JavaScript, and acknowledge it
there. The notifier (escalation/console_notifier.py) counts an alert as delivered once it is
stored for an active person who can sign in and see it.

The same poll also carries the new emergencies waiting in the person's queue (issue 17), for
counsellors, safeguarding leads and duty officers on shift (escalation.roster.on_shift): the
script sounds the same tone and raises the same notification for them as for an alert, with
the alert's words (case number, category, deadline; never text or names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ack, roster
from escalation.config import settings
from escalation.delivery import alert_info, case_fields
from escalation.models import ChainState, Delivery, DeliveryState, Escalation
from helpline.db import utcnow
from triage import permissions as perm
from triage import queue
from triage.models import StaffUser

CHANNEL = "console"
# Shown in the console only while the chain can still be acknowledged.
OPEN_STATES = (DeliveryState.sent,)


@dataclass(frozen=True)
class ConsoleAlert:
    id: int
    case_id: int
    title: str
    number: str
    category: str
    urgency: str
    deadline: str
    reack: bool
    at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "title": self.title,
            "number": self.number,
            "category": self.category,
            "urgency": self.urgency,
            "deadline": self.deadline,
            "reack": self.reack,
            "case_url": f"/console/cases/{self.case_id}",
            "ack_url": f"/console/alerts/{self.id}/acknowledge",
        }


async def open_alerts(session: AsyncSession, staff_id: int, limit: int = 50) -> list[ConsoleAlert]:
    """This person's console alerts whose chain still waits for an acknowledgement, newest
    first. Their fields are those of every alert: no message text, no names."""
    rows = (
        await session.execute(
            select(Delivery)
            .join(Escalation, Escalation.id == Delivery.escalation_id)
            .where(
                Delivery.channel == CHANNEL,
                Delivery.staff_id == staff_id,
                Delivery.state.in_(OPEN_STATES),
                Delivery.token_used_at.is_(None),
                Escalation.state == ChainState.active,
            )
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    ).scalars()
    found = []
    for delivery in list(rows):
        info = await alert_info(session, delivery)
        found.append(
            ConsoleAlert(
                id=delivery.id,
                case_id=delivery.case_id,
                title=info.title(),
                number=info.number,
                category=info.category,
                urgency=info.urgency,
                deadline=info.deadline,
                reack=info.reack,
                at=delivery.sent_at or delivery.created_at,
            )
        )
    return found


@dataclass(frozen=True)
class WaitingEmergency:
    """A new emergency in the person's queue, told as an alert tells a case (no text)."""

    case_id: int
    title: str
    number: str
    category: str
    deadline: str

    def to_json(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "title": self.title,
            "number": self.number,
            "category": self.category,
            "deadline": self.deadline,
            "case_url": f"/console/cases/{self.case_id}",
        }


async def waiting_emergencies(
    session: AsyncSession, staff: StaffUser, now: datetime | None = None
) -> list[WaitingEmergency]:
    """The emergencies nobody has answered yet that `staff` may open (triage's
    queue.waiting_emergencies), if they work the queue and are on shift; else none."""
    if not perm.can_use_queue(staff):
        return []
    at = now or utcnow()
    if not await roster.on_shift(session, staff.id, at):
        return []
    found = []
    for case in await queue.waiting_emergencies(session, staff, at):
        fields = await case_fields(session, case.id)
        found.append(
            WaitingEmergency(
                case_id=case.id,
                title=settings()["alert"]["title"].format(**fields),
                number=fields["number"],
                category=fields["category"],
                deadline=fields["deadline"],
            )
        )
    return found


async def acknowledge_alert(
    session: AsyncSession, delivery_id: int, staff_id: int, now: datetime | None = None
) -> str:
    """The recipient acknowledges their console alert: the chain stops as with every other
    acknowledgement (escalation.ack.acknowledge), recorded as this person, via "console".
    Returns "acknowledged", "already" (the chain had ended), "used" or "not_yours"."""
    at = now or utcnow()
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.channel != CHANNEL or delivery.staff_id != staff_id:
        return "not_yours"
    if delivery.token_used_at is not None:
        return "used"
    delivery.token_used_at = at
    escalation = await session.get(Escalation, delivery.escalation_id, with_for_update=True)
    assert escalation is not None
    done = await ack.acknowledge(session, escalation, "console", staff_id, at, f"staff:{staff_id}")
    return "acknowledged" if done else "already"

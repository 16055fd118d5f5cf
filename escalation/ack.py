"""Acknowledgement: Telegram button, signed one-time link, or the console. Stops the chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import fallback, timers
from escalation.models import ChainState, Delivery, Escalation, EscalationPolicy
from escalation.outcomes import LIVE
from helpline import audit
from helpline.crypto import get_keyring, same
from helpline.db import utcnow
from helpline.settings import get_settings

CALLBACK_PREFIX = "ack"
CALLBACK_MAC = 16  # hex chars: "ack:<id>:<mac>" stays far below Telegram's 64 bytes
LINK_MAC = 32


def _mac(delivery_id: int, length: int) -> str:
    return get_keyring().keyed_hash("escalation-ack", str(delivery_id))[:length]


def callback_data(delivery_id: int) -> str:
    """The Telegram button's callback_data: "ack:<alert id>:<short hmac>"."""
    return f"{CALLBACK_PREFIX}:{delivery_id}:{_mac(delivery_id, CALLBACK_MAC)}"


def _link_mac(delivery_id: int, expires: int) -> str:
    return get_keyring().keyed_hash("escalation-ack-link", f"{delivery_id}.{expires}")[:LINK_MAC]


def link_token(delivery_id: int, issued_at: datetime | None = None) -> str:
    """The token in a one-time acknowledgement link: "<alert id>.<expiry, unix s>.<hmac>".

    It expires `ack_link_hours` (setting, default 24) after `issued_at` (the alert's creation).
    """
    hours = get_settings().ack_link_hours
    expires = int(((issued_at or utcnow()) + timedelta(hours=hours)).timestamp())
    return f"{delivery_id}.{expires}.{_link_mac(delivery_id, expires)}"


@dataclass(frozen=True)
class Link:
    delivery_id: int
    expires_at: datetime | None  # None: a link of the old form (no expiry), taken as expired


def parse_link(token: str) -> Link | None:
    """The alert and expiry of a genuine link token, else None (constant-time check)."""
    parts = token.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts[:-1]):
        return None
    if len(parts[0]) > 12 or (len(parts) == 3 and len(parts[1]) > 12):
        return None
    delivery_id = int(parts[0])
    if len(parts) == 2:
        genuine = same(parts[1], _mac(delivery_id, LINK_MAC))
        return Link(delivery_id, None) if genuine else None
    expires = int(parts[1])
    if not same(parts[2], _link_mac(delivery_id, expires)):
        return None
    return Link(delivery_id, datetime.fromtimestamp(expires, UTC))


def parse_token(token: str) -> int | None:
    """The alert id of a genuine callback_data or link token, else None."""
    if not token.startswith(f"{CALLBACK_PREFIX}:"):
        link = parse_link(token)
        return link.delivery_id if link else None
    parts = token.split(":")[1:]
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 12:
        return None
    delivery_id = int(parts[0])
    return delivery_id if same(parts[1], _mac(delivery_id, CALLBACK_MAC)) else None


async def acknowledge(
    session: AsyncSession,
    escalation: Escalation,
    via: str,
    staff_id: int | None,
    now: datetime,
    actor: str,
) -> bool:
    """Stop a live chain (audited); re-alert later if the policy says so. False if not live."""
    if escalation.state not in LIVE:
        return False
    escalation.state, escalation.acked_at, escalation.incident_since = ChainState.acked, now, None
    escalation.acked_by_id, escalation.acked_via = staff_id, via
    await timers.cancel_chain_timers(session, escalation.id, now)
    policy = await session.get(EscalationPolicy, escalation.policy_id)
    if policy is not None and policy.reack_minutes:
        await timers.schedule(
            session,
            timers.TimerKind.reack,
            now + timedelta(minutes=policy.reack_minutes),
            escalation_id=escalation.id,
        )
    await fallback.after_acknowledge(session, escalation, now)
    await audit.record(
        session,
        actor,
        "escalation.acknowledged",
        "case",
        escalation.case_id,
        escalation_id=escalation.id,
        via=via,
        round=escalation.round,
        step=escalation.step,
    )
    return True


async def acknowledge_token(
    session: AsyncSession, token: str, via: str = "telegram", now: datetime | None = None
) -> str:
    """Acknowledge through the Telegram button's callback_data: pressed in the recipient's own
    chat, so recorded as the recipient.

    Returns "acknowledged", "already" (the chain was no longer active), "used" (this token
    was used before) or "invalid". The bot's CallbackQueryHandler calls this.
    """
    if not token.startswith(f"{CALLBACK_PREFIX}:"):
        return "invalid"
    delivery_id = parse_token(token)
    if delivery_id is None:
        return "invalid"
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None:
        return "invalid"
    if delivery.token_used_at is not None:
        return "used"
    at = now or utcnow()
    delivery.token_used_at = at
    escalation = await session.get(Escalation, delivery.escalation_id, with_for_update=True)
    assert escalation is not None
    actor = f"staff:{delivery.staff_id}" if delivery.staff_id else f"alert:{delivery.id}"
    done = await acknowledge(session, escalation, via, delivery.staff_id, at, actor)
    return "acknowledged" if done else "already"


async def link_state(session: AsyncSession, token: str, now: datetime | None = None) -> str:
    """What a link can still do: "confirm", or why not ("expired", "used", "invalid")."""
    link = parse_link(token)
    delivery = await session.get(Delivery, link.delivery_id) if link else None
    if link is None or delivery is None:
        return "invalid"
    if delivery.token_used_at is not None:
        return "used"
    if link.expires_at is None or link.expires_at <= (now or utcnow()):
        return "expired"
    return "confirm"


async def acknowledge_link(
    session: AsyncSession, token: str, staff_id: int | None, now: datetime | None = None
) -> str:
    """Acknowledge through a one-time link: "acknowledged", "already", "used", "expired" or
    "invalid". Whoever holds a link may have been forwarded it (or be a mail scanner), so it
    is recorded as the signed-in person when there is one, else only as "via link"."""
    at = now or utcnow()
    state = await link_state(session, token, at)
    if state != "confirm":
        return state
    link = parse_link(token)
    assert link is not None
    delivery = await session.get(Delivery, link.delivery_id, with_for_update=True)
    assert delivery is not None
    if delivery.token_used_at is not None:
        return "used"
    delivery.token_used_at = at
    escalation = await session.get(Escalation, delivery.escalation_id, with_for_update=True)
    assert escalation is not None
    actor = f"staff:{staff_id}" if staff_id else f"link:{delivery.id}"
    done = await acknowledge(session, escalation, "link", staff_id, at, actor)
    return "acknowledged" if done else "already"


async def acknowledge_case(
    session: AsyncSession, case_id: int, staff_id: int, now: datetime | None = None
) -> int:
    """Acknowledge every live chain of a case from the console; returns how many stopped."""
    at = now or utcnow()
    active = (
        await session.execute(
            select(Escalation).where(Escalation.case_id == case_id, Escalation.state.in_(LIVE))
        )
    ).scalars()
    stopped = 0
    for escalation in list(active):
        stopped += await acknowledge(
            session, escalation, "console", staff_id, at, f"staff:{staff_id}"
        )
    return stopped

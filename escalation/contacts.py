"""A staff member's alert addresses edited in the console (issue 17): checked with the
coverage check that `helpline config check` runs on the YAML, so a change that would leave
someone's case with nobody reachable is refused in its words; audited with the names of the
fields that changed (never an address)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from escalation import audited, coverage
from escalation.models import AlertProfile
from triage.models import StaffUser

FIELDS = ("email", "phone", "telegram_chat_id")
MAX_LENGTH = 200


ContactRefused = coverage.ChangeRefused  # the refusal every console editor raises


def _clean(values: dict[str, str | None]) -> dict[str, str | None]:
    cleaned = {name: (values.get(name) or "").strip() or None for name in FIELDS}
    if any(v is not None and (len(v) > MAX_LENGTH or "\n" in v) for v in cleaned.values()):
        raise ContactRefused([coverage.words()["contact_too_long"].format(n=MAX_LENGTH)])
    return cleaned


async def save(
    session: AsyncSession, admin: StaffUser, person: StaffUser, values: dict[str, str | None]
) -> list[str]:
    """Store the addresses; returns the names of the fields that changed."""
    cleaned = _clean(values)
    before = await coverage.from_db(session)
    profile = await session.get(AlertProfile, person.id)
    webhook = profile.webhook if profile is not None else None
    channels = coverage.person_channels(
        cleaned["email"], cleaned["phone"], cleaned["telegram_chat_id"], webhook
    )
    coverage.refuse_new_gaps(before, coverage.with_channels(before, person.username, channels))
    return await audited.set_fields(
        session, admin, person, cleaned, "staff.contact_changed", "staff"
    )

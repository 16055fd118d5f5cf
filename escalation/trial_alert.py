"""A test alert to every address of one person (`helpline alerts test --staff NAME`, and the
console buttons): each channel kind the person can be reached on is tried once, and the
result is given per channel. The alert is marked as a test in its title and carries no case
and no content; nothing is retried, no chain is touched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import notifier
from escalation.config import settings
from escalation.delivery import contact_of
from helpline import audit
from helpline.datafiles import section_text
from helpline.settings import get_settings
from triage.models import StaffUser

_said = section_text("escalation", "joining")  # data/escalation/texts.yaml


def trial_notice() -> notifier.Notice:
    """A test alert: an alert's fields (the SMS and voice templates need them) with the words
    of a test (data/escalation: `trial_alert`), alert id 0, nothing to acknowledge."""
    base = get_settings().public_url.rstrip("/")
    words = settings()["trial_alert"]
    fields = {
        "number": str(words["number"]),
        "category": str(words["category"]),
        "urgency": str(words["urgency"]),
        "deadline": "—",
        "link": f"{base}/console/alerts",
        "ack_link": f"{base}/console/alerts",
    }
    return notifier.Notice(
        kind=notifier.NoticeKind.trial,
        subject=str(words["title"]),
        body=tuple(line.format(**fields) for line in words["lines"]),
        fields=fields,
        alert_id=0,
    )


class TrialOutcome(enum.StrEnum):
    """What a test alert on one channel kind came to (words: trial_alert.outcomes)."""

    delivered = "delivered"
    failed = "failed"
    no_address = "no_address"  # the person has no address of that kind
    not_configured = "not_configured"  # the channel is not set up on this service


@dataclass(frozen=True)
class ChannelResult:
    kind: str
    outcome: TrialOutcome
    error: str | None = None

    def words(self) -> str:
        text = str(settings()["trial_alert"]["outcomes"][self.outcome])
        return _said("with_detail", text=text, detail=self.error) if self.error else text


class UnknownStaff(LookupError):
    """No staff member of that user name."""


async def staff_named(session: AsyncSession, username: str) -> StaffUser:
    found = (
        await session.execute(
            select(StaffUser).where(StaffUser.username == username.strip().lower())
        )
    ).scalar_one_or_none()
    if found is None:
        raise UnknownStaff(username)
    return found


async def send_trial(session: AsyncSession, staff: StaffUser, actor: str) -> list[ChannelResult]:
    """Try every personal channel kind once for `staff`; audited with the outcomes only."""
    contact = await contact_of(session, staff)
    notice = trial_notice()
    results: list[ChannelResult] = []
    for kind in notifier.kinds():
        found = notifier.get(kind)
        if found is None or not found.personal:
            continue
        if not found.ready():
            results.append(ChannelResult(kind, TrialOutcome.not_configured))
            continue
        address = found.address(contact)
        if not address:
            results.append(ChannelResult(kind, TrialOutcome.no_address))
            continue
        try:
            await found.send(notifier.Target(address, None, staff.id), notice)
        except notifier.NotifyError as exc:
            results.append(ChannelResult(kind, TrialOutcome.failed, str(exc)[:64]))
        else:
            results.append(ChannelResult(kind, TrialOutcome.delivered))
    await audit.record(
        session,
        actor,
        "alerts.tested",
        "staff",
        staff.id,
        outcomes={r.kind: r.outcome for r in results},
    )
    return results


def results_json(results: list[ChannelResult]) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "outcome": r.outcome, "error": r.error} for r in results]

"""Escalation chains: start with the case, run ordered steps, repeat, re-alert, move on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import notifier, outcomes, roster, timers
from escalation.config import settings
from escalation.models import (
    AlertChannel,
    AlertProfile,
    ChainReason,
    ChainState,
    Delivery,
    DeliveryPurpose,
    DeliveryState,
    Escalation,
    EscalationPolicy,
    NotifyKind,
    ReportState,
    StatutoryReport,
    Timer,
)
from escalation.timers import TimerKind
from helpline import audit, configcache
from helpline.settings import get_settings
from triage.models import Case, Organisation, OrgKind, StaffUser
from triage.orgs import org_info


def should_start(case: Case) -> bool:
    when = settings()["start_when"]
    return (bool(when.get("mandatory")) and case.mandatory) or case.urgency in when["urgencies"]


async def _orgs(session: AsyncSession, case: Case) -> dict[str, Organisation | None]:
    """The case's school (if any) and district."""
    org = await session.get(Organisation, case.org_id)
    assert org is not None
    if org.kind == OrgKind.school:
        district = await session.get(Organisation, org.parent_id) if org.parent_id else None
        return {"school": org, "district": district}
    return {"school": None, "district": org}


@dataclass(frozen=True)
class PolicyInfo:
    """An active policy as the choice reads it (cached per process, helpline.configcache)."""

    id: int
    org_id: int
    name: str
    urgencies: tuple[str, ...]


async def _load_policies(session: AsyncSession) -> dict[int, tuple[PolicyInfo, ...]]:
    rows = (
        await session.execute(
            select(EscalationPolicy)
            .where(EscalationPolicy.active.is_(True))
            .order_by(EscalationPolicy.id)
        )
    ).scalars()
    by_org: dict[int, list[PolicyInfo]] = {}
    for p in rows:
        by_org.setdefault(p.org_id, []).append(
            PolicyInfo(p.id, p.org_id, p.name, tuple(p.urgencies))
        )
    return {org_id: tuple(policies) for org_id, policies in by_org.items()}


async def choose_policy(session: AsyncSession, case: Case) -> PolicyInfo | None:
    """The school's own policy for the case's urgency, else its district's."""
    org = await org_info(session, case.org_id)
    assert org is not None
    chain_of = [org]
    if org.kind == OrgKind.school and org.parent_id:
        district = await org_info(session, org.parent_id)
        chain_of += [district] if district is not None else []
    policies = await configcache.cached(session, "escalation.policies", _load_policies)
    for each in chain_of:
        for policy in policies.get(each.id, ()):
            if case.urgency in policy.urgencies:
                return policy
    return None


async def start_chain(
    session: AsyncSession, case: Case, reason: ChainReason, now: datetime, force: bool = False
) -> Escalation | None:
    """Open a chain whose first step is due at once (a timer row in the caller's transaction).

    `force` starts one whatever the urgency (a case routed up to the district, fallback.py)."""
    if not force and not should_start(case):
        return None
    policy = await choose_policy(session, case)
    if policy is None:
        await audit.record(session, "system", "escalation.no_policy", "case", case.id)
        return None
    if reason != ChainReason.opened:  # a case opened in this transaction has no chain yet
        await _supersede(session, case.id, now)
    escalation = Escalation(
        case_id=case.id, policy_id=policy.id, reason=reason, state=ChainState.active, started_at=now
    )
    session.add(escalation)
    await session.flush()
    await timers.schedule(
        session, TimerKind.step, now, escalation_id=escalation.id, round=1, step=0
    )
    await audit.record(
        session,
        "system",
        "escalation.started",
        "case",
        case.id,
        escalation_id=escalation.id,
        policy_id=policy.id,
        reason=reason,
    )
    return escalation


async def _supersede(session: AsyncSession, case_id: int, now: datetime) -> None:
    """A raised case gets a new chain for its new urgency; the old active one ends."""
    active = (
        await session.execute(
            select(Escalation).where(
                Escalation.case_id == case_id, Escalation.state == ChainState.active
            )
        )
    ).scalars()
    for old in list(active):
        old.state, old.ended_at = ChainState.superseded, now
        await timers.cancel_chain_timers(session, old.id, now)


def steps_of(policy: EscalationPolicy) -> list[dict[str, Any]]:
    return list(policy.steps)


@dataclass(frozen=True)
class Recipient:
    channel: str
    staff_id: int | None = None
    alert_channel_id: int | None = None


StaffFinder = Callable[
    [AsyncSession, dict[str, Any], dict[str, Any], datetime], Awaitable[list[int]]
]


async def _named(
    session: AsyncSession, target: dict[str, Any], orgs: dict[str, Any], now: datetime
) -> list[int]:
    found = await session.execute(select(StaffUser.id).where(StaffUser.username == target["staff"]))
    return list(found.scalars())


async def _on_duty(
    session: AsyncSession, target: dict[str, Any], orgs: dict[str, Any], now: datetime
) -> list[int]:
    org = orgs.get(target.get("org", "school"))
    return [] if org is None else await roster.on_duty(session, org.id, now)


async def _by_role(
    session: AsyncSession, target: dict[str, Any], orgs: dict[str, Any], now: datetime
) -> list[int]:
    org = orgs.get(target.get("org", "school"))
    if org is None:
        return []
    found = await session.execute(
        select(StaffUser.id)
        .where(StaffUser.org_id == org.id, StaffUser.role == target["role"])
        .order_by(StaffUser.id)
    )
    return list(found.scalars())


# The people a step's target names, one handler per kind (`group` reaches a channel instead).
STAFF_TARGETS: dict[str, StaffFinder] = {
    NotifyKind.staff: _named,
    NotifyKind.on_duty: _on_duty,
    NotifyKind.role: _by_role,
}


async def _staff_ids(
    session: AsyncSession, target: dict[str, Any], orgs: dict[str, Any], now: datetime
) -> list[int]:
    find = STAFF_TARGETS.get(target["notify"])
    return [] if find is None else await find(session, target, orgs, now)


async def _group(
    session: AsyncSession, target: dict[str, Any], orgs: dict[str, Any]
) -> list[Recipient]:
    ids = [org.id for org in orgs.values() if org is not None]
    channels = (
        await session.execute(
            select(AlertChannel).where(
                AlertChannel.name == target["group"],
                AlertChannel.org_id.in_(ids),
                AlertChannel.active.is_(True),
            )
        )
    ).scalars()
    return [Recipient(channel.kind, alert_channel_id=channel.id) for channel in channels]


async def recipients(
    session: AsyncSession, case: Case, step: dict[str, Any], now: datetime
) -> list[Recipient]:
    """Every channel this step reaches: each person's Telegram and e-mail, or a group."""
    from escalation.delivery import contact_of

    orgs = await _orgs(session, case)
    found: list[Recipient] = []
    for target in step.get("targets") or [step]:
        if target["notify"] == NotifyKind.group:
            found.extend(await _group(session, target, orgs))
            continue
        for staff_id in await _staff_ids(session, target, orgs, now):
            staff = await session.get(StaffUser, staff_id)
            if staff is None or not staff.active:
                continue
            contact = await contact_of(session, staff)
            for kind in notifier.personal_kinds(await channel_order(session, staff.id)):
                if kind.address(contact):
                    found.append(Recipient(kind.kind, staff_id=staff.id))
    return list(dict.fromkeys(found))


async def channel_order(session: AsyncSession, staff_id: int) -> list[str]:
    """The person's alert profile, else the default order of data/escalation."""
    profile = await session.get(AlertProfile, staff_id)
    if profile is not None and profile.channels:
        return list(profile.channels)
    configured = get_settings().alert_channel_order
    if configured:
        return [kind.strip() for kind in configured.split(",") if kind.strip()]
    return list(settings()["delivery"]["channel_order"])


@timers.handles(TimerKind.step)
async def run_step(session: AsyncSession, timer: Timer, now: datetime) -> None:
    """Alert step `timer.step` of round `timer.round`, and set the timer for what comes next."""
    escalation = await session.get(Escalation, timer.escalation_id)
    if escalation is None or escalation.state != ChainState.active:
        return
    policy = await session.get(EscalationPolicy, escalation.policy_id)
    case = await session.get(Case, escalation.case_id)
    assert policy is not None and case is not None
    steps = steps_of(policy)
    round_, index = timer.round, timer.step
    # A step that reaches nobody (no one on duty at night, nobody with an address) does not
    # count: the next step runs at once, here, in this transaction. Through a new timer each
    # it waited for another claim, and under a burst of reports a night's chain of three
    # empty steps held its first alert back by a claim cycle each (docs/performance.md). At
    # most one pass over the steps per run; a longer search goes on through a timer.
    for _ in range(len(steps) + 1):
        if index >= len(steps):
            if round_ >= policy.repeat:
                await _rounds_done(session, escalation, round_, now)
                return
            round_, index = round_ + 1, 0
        await alert_step(
            session, escalation, case, steps[index], round_, index, now, DeliveryPurpose.alert
        )
        if await _count_step_deliveries(session, escalation.id, round_, index):
            wait = timedelta(minutes=int(steps[index].get("wait_minutes", 0)))
            await timers.schedule(
                session,
                TimerKind.step,
                now + wait,
                escalation_id=escalation.id,
                round=round_,
                step=index + 1,
            )
            return
        index += 1
    await timers.schedule(
        session, TimerKind.step, now, escalation_id=escalation.id, round=round_, step=index
    )


async def _rounds_done(
    session: AsyncSession, escalation: Escalation, rounds: int, now: datetime
) -> None:
    """Every step has run. Someone was reached: `exhausted` (waiting for an acknowledgement,
    alerts not yet out still retried). Nobody was: a delivery incident that keeps retrying."""
    sent = (
        await session.execute(
            select(Delivery.id)
            .where(Delivery.escalation_id == escalation.id, Delivery.state == DeliveryState.sent)
            .limit(1)
        )
    ).first()
    escalation.state = ChainState.exhausted if sent is not None else ChainState.incident
    if sent is None:
        outcomes.start_incident(escalation, now, "rounds_ended_nobody_reached")
    await audit.record(
        session,
        "system",
        f"escalation.{escalation.state}",
        "case",
        escalation.case_id,
        escalation_id=escalation.id,
        rounds=rounds,
    )


async def alert_step(
    session: AsyncSession,
    escalation: Escalation,
    case: Case,
    step: dict[str, Any],
    round_: int,
    index: int,
    now: datetime,
    purpose: DeliveryPurpose,
) -> int:
    """Queue one delivery (and its timer) per recipient of the step; returns how many."""
    escalation.round, escalation.step = round_, index
    # A recipient whose alert of this chain on that channel is still being retried gets no
    # second one: after an outage each person receives one alert, not one per round.
    waiting = set(
        (
            await session.execute(
                select(Delivery.channel, Delivery.staff_id, Delivery.alert_channel_id).where(
                    Delivery.escalation_id == escalation.id,
                    Delivery.state.in_((DeliveryState.pending, DeliveryState.sending)),
                    Delivery.attempts > 0,
                )
            )
        ).all()
    )
    found = [
        r
        for r in await recipients(session, case, step, now)
        if (r.channel, r.staff_id, r.alert_channel_id) not in waiting
    ]
    together = bool(step.get("all_channels"))
    ranks: dict[int, int] = {}
    for recipient in found:
        # A person's first channel goes now; the next ones stand by until it fails, unless
        # the step asks for every channel at once.
        rank = ranks.get(recipient.staff_id, 0) if recipient.staff_id is not None else 0
        if notifier.alongside(recipient.channel):
            rank = 0  # the console: stored for them at once, beside their first channel
        elif recipient.staff_id is not None:
            ranks[recipient.staff_id] = rank + 1
        standby = rank > 0 and not together
        delivery = Delivery(
            escalation_id=escalation.id,
            case_id=case.id,
            round=round_,
            step=index,
            purpose=purpose,
            channel=recipient.channel,
            staff_id=recipient.staff_id,
            alert_channel_id=recipient.alert_channel_id,
            state=DeliveryState.standby if standby else DeliveryState.pending,
            rank=rank,
            all_channels=together,
            created_at=now,
            due_at=now,
        )
        session.add(delivery)
        await session.flush()
        if not standby:
            await timers.schedule(session, TimerKind.deliver, now, delivery_id=delivery.id)
    await audit.record(
        session,
        "system",
        "escalation.step",
        "case",
        case.id,
        escalation_id=escalation.id,
        round=round_,
        step=index,
        deliveries=len(found),
        purpose=purpose,
    )
    return len(found)


async def _count_step_deliveries(
    session: AsyncSession, escalation_id: int, round_: int, index: int
) -> int:
    found = await session.execute(
        select(Delivery.id).where(
            Delivery.escalation_id == escalation_id,
            Delivery.round == round_,
            Delivery.step == index,
        )
    )
    return len(list(found.scalars()))


@timers.handles(TimerKind.reack)
async def run_reack(session: AsyncSession, timer: Timer, now: datetime) -> None:
    """Acknowledged, but no progress since: alert the chain again from its first step."""
    escalation = await session.get(Escalation, timer.escalation_id)
    if escalation is None or escalation.state != ChainState.acked or escalation.acked_at is None:
        return
    case = await session.get(Case, escalation.case_id)
    policy = await session.get(EscalationPolicy, escalation.policy_id)
    assert case is not None and policy is not None
    from escalation import fallback  # fallback builds on this module

    if timer.step == fallback.UNOWNED_CHECK:
        await fallback.realert_unowned(session, escalation, case, now)
        return
    if await _progressed(session, case, escalation.acked_at):
        return
    escalation.state = ChainState.active
    round_ = escalation.round + 1
    steps = steps_of(policy)
    reached = await alert_step(
        session, escalation, case, steps[0], round_, 0, now, DeliveryPurpose.reack
    )
    wait = int(steps[0].get("wait_minutes", 0))
    await timers.schedule(
        session,
        TimerKind.step,
        now + timedelta(minutes=wait) if reached else now,
        escalation_id=escalation.id,
        round=round_,
        step=1,
    )


async def _progressed(session: AsyncSession, case: Case, since: datetime) -> bool:
    if case.status in settings()["progress_statuses"]:
        return True
    if case.first_response_at is not None and case.first_response_at >= since:
        return True
    done = await session.execute(
        select(StatutoryReport.id).where(
            StatutoryReport.case_id == case.id,
            StatutoryReport.state == ReportState.done,
            # Entered since, whatever time it states (a stated time can be backdated).
            StatutoryReport.recorded_at >= since,
        )
    )
    return done.first() is not None

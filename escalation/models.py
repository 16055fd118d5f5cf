"""Tables owned by escalation (statutory reports, policies, rosters, timers, deliveries).

Columns that can hold a name, a contact detail, a reference given by an authority or a robot's
address and secret are EncryptedText; the rest are ids, codes and times.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline import configcache
from helpline.crypto import EncryptedText
from helpline.db import Base, UTCDateTime, utcnow


class NotifyKind(enum.StrEnum):
    """Whom an escalation step reaches (a policy step's `notify`, one handler each in chain.py)."""

    on_duty = "on_duty"  # who is on the organisation's duty roster now
    role = "role"  # everyone of a role at the organisation
    staff = "staff"  # one named person
    group = "group"  # an organisation's alert channel (a group robot)


NOTIFY_KINDS: tuple[str, ...] = tuple(kind.value for kind in NotifyKind)


class ReportState(enum.StrEnum):
    """A statutory report's life (the `state` column of statutory_reports)."""

    due = "due"  # still to be made, deadline ahead
    missed = "missed"  # still to be made, deadline passed
    done = "done"  # made and recorded
    waived = "waived"  # not required after all (e.g. the rules changed with the case)


class ChainState(enum.StrEnum):
    """An escalation chain's life (the `state` column of escalations)."""

    active = "active"  # alerting, step by step
    acked = "acked"  # someone acknowledged
    superseded = "superseded"  # a newer chain of the same case took over
    exhausted = "exhausted"  # every step done, someone was reached; still acknowledgeable
    incident = "incident"  # every step done and nobody reached
    closed = "closed"  # the case was closed


class ChainReason(enum.StrEnum):
    """Why a chain started (the `reason` column of escalations)."""

    opened = "opened"  # the case was opened
    raised = "raised"  # the case's urgency went up
    fallback = "fallback"  # nobody at the school may take the case: routed to the district


class DeliveryState(enum.StrEnum):
    """One delivery's life (the `state` column of escalation_deliveries)."""

    pending = "pending"
    sending = "sending"  # committed before the send: found so after a crash, sent again marked
    sent = "sent"
    standby = "standby"  # a later channel of the person's profile, used when earlier ones fail
    skipped = "skipped"  # reached on another channel, or the chain ended before it went out
    cancelled = "cancelled"  # the case was closed


class DeliveryPurpose(enum.StrEnum):
    """Why a delivery is sent (the `purpose` column of escalation_deliveries)."""

    alert = "alert"  # a step of the chain's policy
    reack = "reack"  # acknowledged without progress: alerted again
    fallback = "fallback"  # nobody at the school may take the case: the district's takers
    unowned = "unowned"  # an acknowledged emergency still without an owner: every taker


class StatutoryReport(Base):
    """One report the law requires for a case: due, done (by whom, to whom, when), or missed."""

    __tablename__ = "statutory_reports"
    __table_args__ = (Index("ix_statutory_reports_open", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    authority: Mapped[str] = mapped_column(String(32), nullable=False)
    form: Mapped[str | None] = mapped_column(String(32), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ReportState.due)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # made_at is the time the staff member states; recorded_at is when it was entered here.
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    made_to: Mapped[str | None] = mapped_column(
        EncryptedText("statutory_reports.made_to"), nullable=True
    )
    reference: Mapped[str | None] = mapped_column(
        EncryptedText("statutory_reports.reference"), nullable=True
    )
    late_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AlertChannel(Base):
    """A group destination of an organisation: webhook, WeCom robot, DingTalk robot, mailbox."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # webhook|wecom|dingtalk|email
    target: Mapped[str] = mapped_column(EncryptedText("alert_channels.target"))
    secret: Mapped[str | None] = mapped_column(
        EncryptedText("alert_channels.secret"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class AlertProfile(Base):
    """How one staff member wants to be alerted: channel kinds in order, and their own hook.

    Without a row the order of `delivery.channel_order` (data/escalation) applies.
    """

    __tablename__ = "alert_profiles"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    webhook: Mapped[str | None] = mapped_column(
        EncryptedText("alert_profiles.webhook"), nullable=True
    )


class EscalationPolicy(Base):
    """Ordered steps for some urgencies of one organisation (a district's apply to its schools)."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    urgencies: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    repeat: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    reack_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class DutyShift(Base):
    """A weekly shift: `days` are mon..sun (or holiday), times are Asia/Shanghai HH:MM."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False)
    days: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    start: Mapped[str] = mapped_column(String(5), nullable=False)
    end: Mapped[str] = mapped_column(String(5), nullable=False)


class DutyOverride(Base):
    """Someone covers an organisation's duty between two instants, replacing the weekly roster."""

    __tablename__ = "duty_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Escalation(Base):
    """One chain of alerts for a case: active until acknowledged, superseded or exhausted."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id"), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)  # ChainReason
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ChainState.active)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    acked_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Since when nobody of this live chain has been reached although alerts were tried
    # (a delivery incident: a banner for staff, an ERROR in the log); cleared on delivery.
    incident_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Delivery(Base):
    """One alert to one recipient over one channel: the delivery log (no text is stored)."""

    __tablename__ = "escalation_deliveries"
    __table_args__ = (Index("ix_escalation_deliveries_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("escalations.id"), nullable=False, index=True
    )
    case_id: Mapped[int] = mapped_column(Integer, nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, default=DeliveryPurpose.alert)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    alert_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_channels.id"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=DeliveryState.pending)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # place in the profile
    # The step asked for every channel at once (emergencies): no channel stands in for another.
    all_channels: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The process may have died after sending and before recording it: sent again, marked.
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    token_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Timer(Base):
    """A durable timer: what to do (kind + ids), when; claimed by one worker at a time."""

    __tablename__ = "escalation_timers"
    __table_args__ = (Index("ix_escalation_timers_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # step|deliver|deadline|reack
    escalation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    delivery_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Every report reads these; an administrator changes them (helpline.configcache).
configcache.watch(EscalationPolicy, AlertChannel, AlertProfile, DutyShift, DutyOverride)

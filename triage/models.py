"""Tables owned by triage: organisations, staff, reporters, cases and messages.

Other packages use the functions in triage's modules, never these tables directly. Every column
that can hold a message, a name, a contact detail or a chat id is EncryptedText.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline import configcache
from helpline.crypto import EncryptedText
from helpline.db import Base, UTCDateTime, utcnow


class OrgKind(enum.StrEnum):
    district = "district"
    school = "school"


class Role(enum.StrEnum):
    counsellor = "counsellor"
    safeguarding_lead = "safeguarding_lead"
    duty_officer = "duty_officer"
    admin = "admin"
    auditor = "auditor"
    hotline = "hotline"  # answers the help phone and logs calls


class CaseStatus(enum.StrEnum):
    new = "new"
    claimed = "claimed"
    in_progress = "in_progress"
    awaiting_report = "awaiting_report"
    closed = "closed"


class Channel(enum.StrEnum):
    telegram = "telegram"
    wechat = "wechat"
    wecom = "wecom"
    web = "web"
    phone = "phone"


class ReporterKind(enum.StrEnum):
    student = "student"
    parent = "parent"
    teacher = "teacher"  # a teacher or other school staff member calling the help phone
    other = "other"
    unknown = "unknown"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False, default="default")
    # "district": a school that declared its cases nobody there may take go to its district
    # (checked by `helpline config check`; the routing itself is escalation/fallback.py).
    coverage_fallback: Mapped[str | None] = mapped_column(String(16), nullable=True)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(EncryptedText("staff_users.display_name"))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    totp_secret: Mapped[str | None] = mapped_column(
        EncryptedText("staff_users.totp_secret"), nullable=True
    )
    email: Mapped[str | None] = mapped_column(EncryptedText("staff_users.email"), nullable=True)
    phone: Mapped[str | None] = mapped_column(EncryptedText("staff_users.phone"), nullable=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(
        EncryptedText("staff_users.telegram_chat_id"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The newest TOTP time step used to sign in: a code is good once (issue 16).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Set when someone other than the holder chose the password (a new account, an
    # administrator's reset): no console page opens until the holder sets their own (issue 17).
    password_must_change: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    org: Mapped[Organisation] = relationship(lazy="joined")


class Reporter(Base):
    """A pseudonymous person who writes in: the raw channel id is never stored in clear."""

    __tablename__ = "reporters"
    __table_args__ = (UniqueConstraint("channel", "pseudonym"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default=ReporterKind.unknown)
    chat_id: Mapped[str | None] = mapped_column(EncryptedText("reporters.chat_id"), nullable=True)
    contact: Mapped[str | None] = mapped_column(EncryptedText("reporters.contact"), nullable=True)
    blocked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


_OPEN = "status IN ('new', 'claimed', 'in_progress', 'awaiting_report')"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue", "status", "urgency_rank", "received_at"),
        Index("ix_cases_org_status", "org_id", "status"),
        # The queue (issue 5): open cases in priority order, and per organisation for counts.
        Index(
            "ix_cases_open_priority",
            "urgency_rank",
            text("mandatory DESC"),
            "received_at",
            "id",
            postgresql_include=["org_id"],
            postgresql_where=text(_OPEN),
            sqlite_where=text(_OPEN),
        ),
        Index(
            "ix_cases_open_org",
            "org_id",
            "urgency_rank",
            postgresql_where=text(_OPEN),
            sqlite_where=text(_OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default=CaseStatus.new)
    labels: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    urgency_rank: Mapped[int] = mapped_column(Integer, nullable=False)
    risk_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mandatory: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), nullable=True, index=True
    )
    receipt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_response_due: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposition: Mapped[str | None] = mapped_column(
        EncryptedText("cases.disposition"), nullable=True
    )
    elements: Mapped[str | None] = mapped_column(EncryptedText("cases.elements"), nullable=True)
    analysis: Mapped[str | None] = mapped_column(EncryptedText("cases.analysis"), nullable=True)
    conversation_state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Set when this case was merged into another case of the same reporter (issue 5).
    merged_into_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The hotline operator who logged the latest call of this case (issue 14): they may read
    # and add to it until a counsellor takes it. No foreign key: a plain id like merged_into_id.
    logged_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    reporter: Mapped[Reporter] = relationship(lazy="raise")
    org: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"{self.received_at:%Y}-{self.id:06d}"


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)  # in | out | note
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="text")
    text: Mapped[str | None] = mapped_column(EncryptedText("messages.text"), nullable=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    analysis: Mapped[str | None] = mapped_column(EncryptedText("messages.analysis"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NluBacklog(Base):
    """A message analysed by the rules alone while the model was still training (issue 17):
    analysed again once the model is loaded (triage/reanalysis.py), then the row goes."""

    __tablename__ = "nlu_backlog"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class LabelFeedback(Base):
    """A counsellor's correction of a case's labels: training feedback for the classifier.

    `message_ids` are the reporter's messages the correction applies to; their (encrypted) text
    is read only when `helpline nlu export-feedback` writes the training data.
    """

    __tablename__ = "label_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False)
    message_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    labels: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    previous_labels: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    previous_urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ResponseTarget(Base):
    """An administrator's first-response target for one urgency (overrides data/triage)."""

    __tablename__ = "response_targets"

    urgency: Mapped[str] = mapped_column(String(16), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class GrantAction(enum.StrEnum):
    create = "create"  # a new account with a guarded role
    role = "role"  # an existing account changes to a guarded role
    activate = "activate"  # a deactivated account of a guarded role comes back
    password = "password"  # noqa: S105 - a new one-time password for a guarded account
    totp = "totp"  # a lost authenticator: a new key (and password) for a guarded account


class GrantState(enum.StrEnum):
    """A four-eyes request's life (the `state` column of role_grants)."""

    pending = "pending"
    approved = "approved"
    refused = "refused"  # by the second administrator
    withdrawn = "withdrawn"  # by the administrator who asked


class RoleGrant(Base):
    """A request by one administrator that a second must approve (four eyes, issue 14).

    Whatever gives an account a role that reads case content (or the admin role, which decides
    these requests) waits here until another administrator approves it; see docs/triage.md.
    """

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=GrantState.pending)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Every report reads these; an administrator changes them (helpline.configcache).
configcache.watch(Organisation, ResponseTarget)
# Who may take a case (escalation/fallback.py): not the sign-in bookkeeping.
configcache.watch(StaffUser, columns=("role", "active", "org_id"))

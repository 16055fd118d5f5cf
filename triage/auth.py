"""Staff sign-in: argon2 password hashes, TOTP, lock-out, server-side sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline import audit
from helpline.crypto import get_keyring
from helpline.db import Base, UTCDateTime, utcnow
from triage.models import Role, StaffUser

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=10)
# Roles that can open case contents need a second factor.
ROLES_NEEDING_TOTP = frozenset(
    {
        Role.counsellor,
        Role.safeguarding_lead,
        Role.duty_officer,
        Role.admin,
        Role.auditor,
        Role.hotline,
    }
)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_ok(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    staff: StaffUser | None
    # "", "bad_credentials", "locked", "totp_required", "bad_totp", "totp_not_enrolled"
    reason: str = ""


async def authenticate(
    session: AsyncSession, username: str, password: str, totp_code: str | None
) -> LoginResult:
    """Check a login; counts failures, locks the account after MAX_FAILURES, audits both."""
    staff = (
        await session.execute(
            select(StaffUser).where(StaffUser.username == username.strip().lower())
        )
    ).scalar_one_or_none()
    now = utcnow()
    ok = _password_ok(staff.password_hash if staff else None, password)
    if staff is None or not staff.active:
        await audit.record(session, "anonymous", "login.failed", "staff", "")
        return LoginResult(None, "bad_credentials")
    if staff.locked_until and staff.locked_until > now:
        await audit.record(session, f"staff:{staff.id}", "login.locked", "staff", staff.id)
        return LoginResult(None, "locked")
    if ok and not staff.totp_secret and staff.role in ROLES_NEEDING_TOTP:
        # Fail closed: an account that sees cases but has no second factor enrolled (created
        # outside the admin pages, or its secret cleared) must not get in on a password alone.
        await audit.record(session, f"staff:{staff.id}", "login.no_totp", "staff", staff.id)
        return LoginResult(None, "totp_not_enrolled")
    if ok and staff.totp_secret:
        if not totp_code:
            return LoginResult(None, "totp_required")
        ok = pyotp.TOTP(staff.totp_secret).verify(totp_code.strip(), valid_window=1)
        reason = "bad_totp"
    else:
        reason = "bad_credentials"
    if not ok:
        staff.failed_logins += 1
        if staff.failed_logins >= MAX_FAILURES:
            staff.locked_until, staff.failed_logins = now + LOCKOUT, 0
        await audit.record(session, f"staff:{staff.id}", "login.failed", "staff", staff.id)
        return LoginResult(None, reason)
    staff.failed_logins, staff.locked_until = 0, None
    await audit.record(session, f"staff:{staff.id}", "login", "staff", staff.id)
    return LoginResult(staff)


async def open_session(session: AsyncSession, staff: StaffUser) -> str:
    """A new session token (returned once, for the cookie); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=staff.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def staff_for_token(session: AsyncSession, token: str | None) -> StaffUser | None:
    if not token or len(token) > 128:
        return None
    row = await session.get(StaffSession, _token_hash(token))
    if row is None or row.expires_at <= utcnow():
        return None
    staff = await session.get(StaffUser, row.staff_id)
    return staff if staff is not None and staff.active else None


async def close_session(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.execute(
            delete(StaffSession).where(StaffSession.token_hash == _token_hash(token))
        )


def _token_hash(token: str) -> str:
    return get_keyring().keyed_hash("staff-session", token)

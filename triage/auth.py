"""Staff sign-in: argon2 password hashes, one-time TOTP codes, back-off, server-side sessions."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import ForeignKey, Integer, String, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline import audit
from helpline.crypto import get_keyring
from helpline.db import Base, UTCDateTime, utcnow
from triage import login_backoff, recovery
from triage.models import Role, StaffUser
from triage.passwords import hash_password, password_ok

__all__ = ["hash_password"]

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


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


@dataclass(frozen=True)
class LoginResult:
    staff: StaffUser | None
    # "", "bad_credentials" (wrong name, password or code, or a code missing: one answer, so
    # that no answer confirms a password), "wait" (this name from this address failed too
    # often; see triage.login_backoff), "totp_not_enrolled"
    reason: str = ""


TOTP_STEP_SECONDS = 30


def _totp_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step the code belongs to (the current one or either neighbour, for clock
    drift), if it is newer than the last one used: a code signs in once."""
    code = code.strip()
    if not (code.isascii() and code.isdigit()) or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
            totp.at(step * TOTP_STEP_SECONDS), code
        ):
            return step
    return None


async def _claim_step(session: AsyncSession, staff: StaffUser, step: int) -> bool:
    """Record the step as used, atomically: of two sign-ins with one code, one wins."""
    claimed = await session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == staff.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


async def authenticate(
    session: AsyncSession,
    username: str,
    password: str,
    totp_code: str | None,
    source: str = "unknown",
) -> LoginResult:
    """Check a login from `source` (the client's address); slows a failing name and address
    down (never locks an account), audits both outcomes."""
    if await login_backoff.must_wait(session, username, source):
        await audit.record(session, "anonymous", "login.throttled", "staff", "")
        return LoginResult(None, "wait")
    staff = (
        await session.execute(
            select(StaffUser).where(StaffUser.username == username.strip().lower())
        )
    ).scalar_one_or_none()
    now = utcnow()
    ok = password_ok(staff.password_hash if staff else None, password)
    if staff is None or not staff.active:
        await login_backoff.failed(session, username, source)
        await audit.record(session, "anonymous", "login.failed", "staff", "")
        return LoginResult(None, "bad_credentials")
    if ok and not staff.totp_secret and staff.role in ROLES_NEEDING_TOTP:
        # Fail closed: an account that sees cases but has no second factor enrolled (created
        # outside the admin pages, or its secret cleared) must not get in on a password alone.
        await audit.record(session, f"staff:{staff.id}", "login.no_totp", "staff", staff.id)
        return LoginResult(None, "totp_not_enrolled")
    if ok and staff.totp_secret:
        if recovery.looks_like_code(totp_code or ""):
            # A recovery code in place of the authenticator's code (one-time, audited there).
            ok = await recovery.use(session, staff, totp_code or "")
        else:
            step = _totp_step(staff.totp_secret, totp_code or "", staff.totp_last_step, now)
            ok = step is not None and await _claim_step(session, staff, step)
    if not ok:
        await login_backoff.failed(session, username, source)
        await audit.record(session, f"staff:{staff.id}", "login.failed", "staff", staff.id)
        return LoginResult(None, "bad_credentials")
    await login_backoff.succeeded(session, username, source)
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


async def close_other_sessions(session: AsyncSession, staff: StaffUser, token: str | None) -> None:
    """End every session of the account but the one with `token` (after a password change)."""
    await session.execute(
        delete(StaffSession).where(
            StaffSession.staff_id == staff.id, StaffSession.token_hash != _token_hash(token or "")
        )
    )


def _token_hash(token: str) -> str:
    return get_keyring().keyed_hash("staff-session", token)

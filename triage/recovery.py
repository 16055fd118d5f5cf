"""Recovery codes: one-time codes a staff member signs in with instead of a TOTP code when the
phone with the authenticator is not at hand (issue 17).

Ten are made at once (data/triage/passwords.yaml), shown once to their holder, and stored only
as argon2 hashes; each signs in once. Making new ones voids the old ones. Their use and their
making are audited (counts only, never a code).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from helpline import audit
from helpline.db import Base, UTCDateTime, utcnow
from triage.models import StaffUser
from triage.passwords import hash_password, password_ok, policy


class RecoveryCode(Base):
    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def normalise(code: str) -> str:
    """What the holder typed, without spaces, dashes and case."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_code(typed: str) -> bool:
    rules = policy()["recovery"]
    code = normalise(typed)
    return len(code) == rules["length"] and set(code) <= set(rules["alphabet"])


def _new_code() -> str:
    rules = policy()["recovery"]
    raw = "".join(secrets.choice(rules["alphabet"]) for _ in range(rules["length"]))
    half = len(raw) // 2
    return f"{raw[:half]}-{raw[half:]}"


async def discard(session: AsyncSession, staff: StaffUser) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))


async def generate(session: AsyncSession, staff: StaffUser) -> list[str]:
    """New codes for `staff` (returned once, for the page); the old ones stop working."""
    await discard(session, staff)
    codes = [_new_code() for _ in range(policy()["recovery"]["count"])]
    now = utcnow()
    for code in codes:
        session.add(
            RecoveryCode(
                staff_id=staff.id, code_hash=hash_password(normalise(code)), created_at=now
            )
        )
    await session.flush()
    await audit.record(
        session, f"staff:{staff.id}", "recovery.generated", "staff", staff.id, count=len(codes)
    )
    return codes


async def unused(session: AsyncSession, staff: StaffUser) -> int:
    return (
        await session.execute(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None)
            )
        )
    ).scalar_one()


async def use(session: AsyncSession, staff: StaffUser, typed: str) -> bool:
    """Spend the code if it is one of the account's unused ones (atomically: of two sign-ins
    with one code, one wins)."""
    if not looks_like_code(typed):
        return False
    code = normalise(typed)
    rows = await session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None)
        )
    )
    for code_id, code_hash in rows.all():
        if password_ok(code_hash, code):
            spent = await session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if spent.rowcount != 1:
                return False
            await audit.record(
                session,
                f"staff:{staff.id}",
                "login.recovery_code",
                "staff",
                staff.id,
                left=await unused(session, staff),
            )
            return True
    return False

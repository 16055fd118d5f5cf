"""What an anonymous reporter sees with a receipt code: their own conversation, nothing more."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.crypto import normalize_receipt_code, receipt_hash, receipt_matches
from triage.models import Case, Message


async def case_for_receipt(session: AsyncSession, typed: str) -> Case | None:
    """The case behind a receipt code, or None; the caller rate-limits attempts."""
    code = normalize_receipt_code(typed)
    if code is None:
        return None
    digest = receipt_hash(code)
    case = (
        await session.execute(select(Case).where(Case.receipt_hash == digest))
    ).scalar_one_or_none()
    if case is None or not receipt_matches(code, case.receipt_hash or ""):
        return None
    return case


async def conversation(session: AsyncSession, case: Case) -> list[Message]:
    """The reporter's messages and the replies to them, oldest first (no internal notes)."""
    return list(
        (
            await session.execute(
                select(Message)
                .where(Message.case_id == case.id, Message.direction.in_(("in", "out")))
                .order_by(Message.created_at, Message.id)
            )
        ).scalars()
    )

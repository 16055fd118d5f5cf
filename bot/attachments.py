"""Photos, voice notes and files sent with a case: stored encrypted, only when allowed."""

from __future__ import annotations

import base64
import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.models import Attachment
from helpline import audit
from triage.models import Case

# Kinds that can show a body: never kept for a sexual-abuse case (the child must not be asked
# to send, and we must not hold, such images; the police secure evidence).
VISUAL_KINDS = frozenset({"photo", "video", "video_note", "document"})


class Verdict(enum.StrEnum):
    ok = "ok"
    no_case = "attachment_no_case"
    too_big = "attachment_too_big"
    restricted = "attachment_restricted"
    kind_refused = "attachment_kind_refused"


def check(case: Case | None, kind: str, size: int | None) -> Verdict:
    """May this file be stored with this case? (Checked before anything is downloaded.)"""
    limits = texts.limits()
    if kind not in limits["attachment_kinds"]:
        return Verdict.kind_refused
    if case is None:
        return Verdict.no_case
    if case.restricted or "sexual_abuse" in case.labels:
        if kind in VISUAL_KINDS:
            return Verdict.restricted
    if size is not None and size > int(limits["max_attachment_bytes"]):
        return Verdict.too_big
    return Verdict.ok


def refusal(verdict: Verdict) -> str:
    """What the reporter is told when a file is not stored (the size limit in MB)."""
    limit_mb = int(texts.limits()["max_attachment_bytes"]) // (1024 * 1024)
    return texts.text(verdict.value, limit_mb=limit_mb)


async def store(
    session: AsyncSession,
    case: Case,
    kind: str,
    mime_type: str,
    content: bytes,
    message_id: int | None = None,
) -> Attachment:
    if len(content) > int(texts.limits()["max_attachment_bytes"]):
        raise ValueError("attachment too big")
    attachment = Attachment(
        case_id=case.id,
        message_id=message_id,
        kind=kind,
        mime_type=mime_type[:100],
        size=len(content),
        content=base64.b64encode(content).decode("ascii"),
    )
    session.add(attachment)
    await session.flush()
    await audit.record(
        session,
        f"reporter:{case.reporter_id}",
        "attachment.stored",
        "case",
        case.id,
        attachment_id=attachment.id,
        kind=kind,
        size=len(content),
    )
    return attachment


async def for_case(session: AsyncSession, case_id: int) -> list[Attachment]:
    return list(
        (
            await session.execute(
                select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
            )
        ).scalars()
    )


def content_of(attachment: Attachment) -> bytes:
    return base64.b64decode(attachment.content)

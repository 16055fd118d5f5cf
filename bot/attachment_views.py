"""Attachments on the counsellor's case page (a triage case panel) and their download.

Only staff who may read the case's content see or open them (triage.permissions), and every
opening is written to the audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import attachments
from bot.models import Attachment
from helpline import audit
from helpline.web import DbSession, templates_for
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import StaffUser

router = APIRouter(prefix="/console/attachments")
templates = templates_for(Path(__file__).parent / "templates")
KIND_WORDS = {
    "photo": "照片",
    "voice": "语音",
    "audio": "音频",
    "video": "视频",
    "video_note": "视频留言",
    "document": "文件",
}
# Shown inline only when the browser cannot be tricked into running it.
SAFE_INLINE = frozenset({"image/jpeg", "image/png", "audio/ogg", "audio/mpeg", "video/mp4"})


async def case_panel(session: AsyncSession, case: Any, staff: Any, csrf: str) -> Markup | None:
    if not perm.can_view_content(staff, case):
        return None
    rows = (
        await session.execute(
            select(Attachment.id, Attachment.kind, Attachment.size, Attachment.created_at)
            .where(Attachment.case_id == case.id)
            .order_by(Attachment.id)
        )
    ).all()
    if not rows:
        return None
    html = templates.env.get_template("bot/attachments_panel.html").render(
        rows=rows, kinds=KIND_WORDS
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


@router.get("/{attachment_id}", include_in_schema=False)
async def download(
    attachment_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise HTTPException(status_code=404, detail="没有找到这个附件。")
    case = await perm.visible_case(session, staff, attachment.case_id)
    perm.require(perm.can_view_content(staff, case))
    await audit.record(
        session,
        f"staff:{staff.id}",
        "attachment.viewed",
        "case",
        case.id,
        attachment_id=attachment.id,
    )
    inline = attachment.mime_type in SAFE_INLINE
    media = attachment.mime_type if inline else "application/octet-stream"
    disposition = "inline" if inline else f'attachment; filename="attachment-{attachment.id}"'
    return Response(
        attachments.content_of(attachment),
        media_type=media,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )

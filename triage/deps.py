"""FastAPI dependencies for the console: the signed-in staff member."""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.web import SESSION_COOKIE, DbSession
from triage.auth import staff_for_token
from triage.hooks import console_banners
from triage.models import StaffUser

__all__ = ["SESSION_COOKIE", "current_staff"]


async def current_staff(request: Request, session: AsyncSession = DbSession) -> StaffUser:
    staff = await staff_for_token(session, request.cookies.get(SESSION_COOKIE))
    if staff is None:
        raise HTTPException(status_code=303, headers={"Location": "/console/login"})
    # Notices of higher layers (e.g. alerts that cannot be delivered) for every console page.
    request.state.banners = await console_banners(session, staff)
    return staff

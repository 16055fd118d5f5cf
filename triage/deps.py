"""FastAPI dependencies for the console: the signed-in staff member."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.web import SESSION_COOKIE, DbSession
from triage.auth import staff_for_token
from triage.hooks import console_banners
from triage.models import StaffUser

__all__ = ["SESSION_COOKIE", "current_staff", "signed_in_staff"]

PASSWORD_PAGE = "/console/account/password"  # noqa: S105 - an address, not a secret


async def signed_in_staff(request: Request, session: AsyncSession = DbSession) -> StaffUser:
    """Whoever the session cookie belongs to, whether or not they must change their password:
    only the password page itself and signing out use this directly."""
    staff = await staff_for_token(session, request.cookies.get(SESSION_COOKIE))
    if staff is None:
        raise HTTPException(status_code=303, headers={"Location": "/console/login"})
    return staff


async def current_staff(
    request: Request,
    session: AsyncSession = DbSession,
    staff: StaffUser = Depends(signed_in_staff),
) -> StaffUser:
    """The signed-in staff member, for every console page. An account whose password someone
    else chose (new, or reset by an administrator) is sent to set its own first: no page
    opens, and no action is taken, until it has (issue 17)."""
    if staff.password_must_change:
        raise HTTPException(status_code=303, headers={"Location": PASSWORD_PAGE})
    # Notices of higher layers (e.g. alerts that cannot be delivered) for every console page.
    request.state.banners = await console_banners(session, staff)
    return staff

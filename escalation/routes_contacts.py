"""The admin console's page of one person's alert addresses, with the test-alert button."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import contacts, coverage
from escalation.web import render
from helpline.datafiles import section_text
from helpline.web import DbSession, check_csrf
from triage import admin
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import StaffUser

_said = section_text("escalation", "refusals")  # words from data/escalation/texts.yaml

router = APIRouter()


async def _person(session: AsyncSession, staff: StaffUser, staff_id: int) -> StaffUser:
    perm.require(perm.can_administer(staff))
    try:
        return await admin.staff_for_admin(session, staff, staff_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=_said("no_account")) from exc


@router.get("/console/admin/staff/{staff_id}/contact")
async def contact_page(
    request: Request,
    staff_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    person = await _person(session, staff, staff_id)
    return render(
        request,
        "escalation/contact.html",
        staff,
        person=person,
        values={name: getattr(person, name) or "" for name in contacts.FIELDS},
        saved=request.query_params.get("msg") == "saved",
        reasons=[],
    )


@router.post("/console/admin/staff/{staff_id}/contact")
async def save_contact(
    request: Request,
    staff_id: int,
    email: str = Form("", max_length=400),
    phone: str = Form("", max_length=400),
    telegram_chat_id: str = Form("", max_length=400),
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Save the addresses if the coverage check finds no new gap; else the page again, with
    what was typed and the check's words (400)."""
    check_csrf(request, csrf_token)
    person = await _person(session, staff, staff_id)
    values = {"email": email, "phone": phone, "telegram_chat_id": telegram_chat_id}
    try:
        await contacts.save(session, staff, person, values)
    except contacts.ContactRefused as refused:
        return render(
            request,
            "escalation/contact.html",
            staff,
            status_code=400,
            person=person,
            values=values,
            saved=False,
            reasons=refused.reasons,
            refused_lead=coverage.words()["contact_refused"],
        )
    return RedirectResponse(f"/console/admin/staff/{person.id}/contact?msg=saved", status_code=303)

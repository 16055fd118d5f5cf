"""The console's own alert channel: the alerts page (works without JavaScript), the JSON the
live script polls, the acknowledgement, and the script itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import console_alerts
from escalation.config import settings
from escalation.web import render
from helpline.datafiles import section_text
from helpline.web import DbSession, check_csrf, csrf_token
from triage import admin
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import StaffUser

_said = section_text("escalation", "refusals")  # words from data/escalation/texts.yaml

router = APIRouter()
SCRIPT = Path(__file__).parent / "static" / "alerts.js"


@router.get("/console/alerts")
async def alerts_page(
    request: Request,
    msg: str | None = None,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """The signed-in person's open alerts, each with an acknowledge button."""
    alerts = await console_alerts.open_alerts(session, staff.id)
    words = settings()["console_alerts"]
    return render(
        request, "escalation/alerts.html", staff, alerts=alerts, msg_text=words["results"].get(msg)
    )


@router.get("/console/alerts/live")
async def alerts_live(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """What the live script shows: the open alerts (ids and alert fields only), the new
    emergencies waiting for someone on shift (the same fields), and the form token it needs to
    acknowledge an alert."""
    alerts = await console_alerts.open_alerts(session, staff.id)
    emergencies = await console_alerts.waiting_emergencies(session, staff)
    return JSONResponse(
        {
            "alerts": [alert.to_json() for alert in alerts],
            "emergencies": [emergency.to_json() for emergency in emergencies],
            "csrf_token": csrf_token(request),
            "poll_seconds": float(settings()["console_alerts"]["poll_seconds"]),
        }
    )


@router.post("/console/alerts/{delivery_id}/acknowledge")
async def acknowledge(
    request: Request,
    delivery_id: int,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    check_csrf(request, csrf_token)
    result = await console_alerts.acknowledge_alert(session, delivery_id, staff.id)
    if "application/json" in request.headers.get("accept", ""):
        status = 404 if result == "not_yours" else 200
        words = settings()["console_alerts"]["results"]
        return JSONResponse({"result": result, "text": words[result]}, status_code=status)
    return RedirectResponse(f"/console/alerts?msg={result}", status_code=303)


async def _trial_page(
    request: Request, session: AsyncSession, staff: StaffUser, person: StaffUser
) -> Response:
    from escalation import trial_alert

    results = await trial_alert.send_trial(session, person, f"staff:{staff.id}")
    return render(request, "escalation/trial_result.html", staff, person=person, results=results)


@router.post("/console/alerts/test")
async def test_my_channels(
    request: Request,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """A test alert to every address of the signed-in person themself."""
    check_csrf(request, csrf_token)
    return await _trial_page(request, session, staff, staff)


@router.post("/console/admin/staff/{staff_id}/test-alert")
async def test_person_channels(
    request: Request,
    staff_id: int,
    csrf_token: str = Form(""),
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """An administrator sends a test alert to every address of a person in their scope."""
    check_csrf(request, csrf_token)
    perm.require(perm.can_administer(staff))
    try:
        person = await admin.staff_for_admin(session, staff, staff_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=_said("no_account")) from exc
    return await _trial_page(request, session, staff, person)


@router.get("/console/alerts/live.js", include_in_schema=False)
async def live_script() -> Response:
    return FileResponse(SCRIPT, media_type="text/javascript")

"""Templates for escalation's pages and panel (searching triage's console layout too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from escalation.config import settings
from helpline.db import utcnow
from helpline.web import csrf_token, templates_for
from triage.caseview import words
from triage.models import StaffUser
from triage.pages import countdown, live_words, nav_for

templates = templates_for(
    Path(__file__).parent / "templates", Path(__file__).parent.parent / "triage" / "templates"
)
templates.env.globals["countdown"] = countdown
templates.env.globals["live_words"] = live_words
templates.env.globals["words"] = words
templates.env.globals["esc_words"] = settings


def render(
    request: Request, name: str, staff: StaffUser | None, status_code: int = 200, **context: Any
) -> Response:
    context.update(
        staff=staff,
        csrf=csrf_token(request),
        nav=nav_for(staff) if staff is not None else None,
        now=utcnow(),
        banners=getattr(request.state, "banners", []),
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)

"""Rendering helpers shared by the console routes: templates, local time, countdowns."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from helpline.datafiles import section_text
from helpline.db import utcnow
from helpline.web import csrf_token, templates_for
from triage import permissions as perm
from triage.caseview import words
from triage.hooks import extra_nav_links, extra_staff_actions, extra_staff_links
from triage.models import StaffUser
from triage.reasons import reasons

_said = section_text("triage", "nav")  # words from data/triage/texts.yaml

templates = templates_for(Path(__file__).parent / "templates")


def countdown(due: datetime, now: datetime | None = None) -> tuple[str, bool]:
    """('剩余 12 分钟' | '已超时 3 小时 5 分钟', overdue), in the words of data/triage/console.yaml
    (`countdown`); triage/static/live.js ticks the same words in the page, by the same rule."""
    said = words()["countdown"]
    seconds = int((due - (now or utcnow())).total_seconds())
    minutes = abs(seconds) // 60
    hours, rest = divmod(minutes, 60)
    span = (
        said["hours"].format(hours=hours, minutes=rest)
        if hours
        else said["minutes"].format(minutes=rest)
    )
    late = seconds < 0
    return said["late" if late else "left"].format(span=span), late


def live_words() -> str:
    """What the console's script says (countdowns, 'updated'), as JSON for a data attribute."""
    said = words()
    return json.dumps({"countdown": said["countdown"], **said["live"]["words"]}, ensure_ascii=False)


templates.env.globals["countdown"] = countdown
templates.env.globals["live_words"] = live_words
templates.env.globals["words"] = words
templates.env.globals["staff_actions"] = extra_staff_actions
templates.env.globals["staff_links"] = extra_staff_links
templates.env.filters["reasons"] = reasons


def render(
    request: Request, name: str, staff: StaffUser, status_code: int = 200, **context: Any
) -> Response:
    context.update(
        staff=staff,
        csrf=csrf_token(request),
        nav=nav_for(staff),
        now=utcnow(),
        banners=getattr(request.state, "banners", []),
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def nav_for(staff: StaffUser) -> list[tuple[str, str]]:
    links = [("/console", _said("home"))]
    if perm.can_use_queue(staff):
        links.append(("/console/queue", _said("queue")))
    if perm.can_read_audit(staff):
        links.append(("/console/audit", _said("audit")))
    if perm.can_administer(staff):
        links += [
            ("/console/admin/schools", _said("schools")),
            ("/console/admin/staff", _said("staff")),
            ("/console/admin/targets", _said("targets")),
        ]
    return links + extra_nav_links(staff) + [("/console/account", _said("account"))]


def back_to(url: str, msg: str | None = None) -> Response:
    """Post/redirect/get, with a short message code shown on the next page."""
    return RedirectResponse(f"{url}?msg={msg}" if msg else url, status_code=303)

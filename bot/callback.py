"""A call-back number or place, offered on the receipt page of an emergency (optional).

Stored encrypted with the reporter's contact (Reporter.contact is EncryptedText) and shown on
the case page to staff who may read the case; the audit log records only that one was left.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot import texts
from helpline import audit
from helpline.db import session_scope
from helpline.web import check_csrf, csrf_token, templates_for
from triage.models import Case, Reporter

router = APIRouter()
templates = templates_for(Path(__file__).parent / "templates")
MAX_CALLBACK_CHARS = 200


def _render(request: Request, status: int, **context: object) -> Response:
    context.update(csrf=csrf_token(request), w=dict(texts.section("web")))
    context.setdefault("cb", dict(texts.section("callback")))
    return templates.TemplateResponse(request, "bot/callback.html", context, status_code=status)


@router.post("/report/callback", include_in_schema=False)
async def leave_callback(request: Request) -> Response:
    from bot import webform  # the follow-up token of the receipt page

    fields = await webform._form(request)
    check_csrf(request, fields.get("csrf_token"))
    words = texts.section("callback")
    case_id = webform._case_id_from_token(fields.get("token", ""))
    if case_id is None:
        return _render(request, 403, message=words["expired"], error=True)
    value = " ".join(fields.get("callback", "").split())
    if not value or len(value) > MAX_CALLBACK_CHARS:
        error = words["empty"] if not value else words["too_long"].format(limit=MAX_CALLBACK_CHARS)
        return _render(
            request, 400, message=error, error=True, token=fields.get("token", ""), draft=value
        )
    async with session_scope() as session:
        case = await session.get(Case, case_id)
        reporter = await session.get(Reporter, case.reporter_id) if case is not None else None
        if case is None or reporter is None:
            return _render(request, 403, message=words["expired"], error=True)
        reporter.contact = f"{reporter.contact}；{value}" if reporter.contact else value
        await audit.record(session, "reporter", "reporter.callback_left", "case", case.id)
    return _render(request, 200, message=words["thanks"], error=False)

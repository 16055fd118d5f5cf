"""The web form: `/`, `/report`, `/follow-up`. Server-rendered, works without JavaScript.

Every POST carries the CSRF token; every POST is rate-limited per address; sizes are checked
with clear messages; what was typed is only ever shown back through Jinja's autoescaping.
The message is committed BEFORE the receipt page is rendered, so a shown code is a kept case.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from bot import flow, limits, texts
from bot.receipt_tools import receipt_links
from helpline.boundary import form_limits
from helpline.crypto import format_receipt_code, get_keyring, same
from helpline.db import session_scope
from helpline.vocabulary import urgency_rank
from helpline.web import client_address, csrf_ok, csrf_token, templates_for
from triage import followup
from triage.intake import MAX_TEXT_CHARS, Intake, IntakeError
from triage.models import Case, CaseStatus
from triage.orgs import OrgInfo, org_table

router = APIRouter()
templates = templates_for(Path(__file__).parent / "templates")
KINDS = ("student", "parent", "other")


def _words() -> dict[str, Any]:
    return dict(texts.section("web"))


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("w", _words())
    return templates.TemplateResponse(request, name, context, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    """The posted fields (sizes are held to the limits by `helpline.boundary` on the stream)."""
    form = await request.form(**form_limits())
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def _schools(session: AsyncSession) -> list[OrgInfo]:
    """The schools, by name (cached per process until an administrator changes one)."""
    return list((await org_table(session)).schools)


# -- pages ------------------------------------------------------------------------------------
@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    return _render(request, "bot/home.html", privacy=texts.text("privacy"))


@router.get("/report", include_in_schema=False)
async def report_form(request: Request) -> Response:
    async with session_scope() as session:
        schools = await _schools(session)
    return _render(
        request, "bot/report.html", schools=schools, values={}, errors={}, privacy=_privacy()
    )


def _privacy() -> str:
    return texts.text("privacy")


@dataclass
class Report:
    kind: str = "unknown"
    what: str = ""
    when: str = ""
    where: str = ""
    who: str = ""
    school: str = ""
    contact: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The message as understood: the optional answers are added as labelled lines."""
        w = _words()
        lines = [self.what]
        for prefix, value in (("when", self.when), ("where", self.where), ("who", self.who)):
            if value:
                lines.append(f"{w['prefix_' + prefix]}：{value}")
        return "\n".join(lines)


def _validate(fields: dict[str, str], school_codes: set[str]) -> Report:
    errors = _words()["errors"]
    limit = int(texts.limits()["max_field_chars"])
    report = Report(
        kind=fields.get("reporter_kind", "") or "unknown",
        what=fields.get("what", "").strip(),
        when=fields.get("when", "").strip(),
        where=fields.get("where", "").strip(),
        who=fields.get("who", "").strip(),
        school=fields.get("school", "").strip(),
        contact=fields.get("contact", "").strip(),
    )
    if not report.what:
        report.errors["what"] = errors["what_missing"]
    elif len(report.what) > MAX_TEXT_CHARS:
        report.errors["what"] = errors["what_too_long"].format(limit=MAX_TEXT_CHARS)
    for name in ("when", "where", "who", "contact"):
        if len(getattr(report, name)) > limit:
            report.errors[name] = errors["field_too_long"].format(limit=limit)
    if report.kind not in (*KINDS, "unknown"):
        report.errors["reporter_kind"] = errors["kind_bad"]
    if report.school and report.school not in school_codes:
        report.errors["school"] = errors["school_bad"]
    return report


def _values(report: Report) -> dict[str, str]:
    return {k: v for k, v in vars(report).items() if k != "errors"}


@router.post("/report", include_in_schema=False)
async def report_submit(request: Request) -> Response:
    fields = await _form(request)
    if not csrf_ok(request, fields.get("csrf_token")):
        # An old page (the token went with its cookie) loses nothing: the form comes back
        # filled in with what was written, with a fresh token and a plain explanation.
        async with session_scope() as session:
            schools = await _schools(session)
        report = _validate(fields, {s.code for s in schools})
        return _render(
            request,
            "bot/report.html",
            403,
            schools=schools,
            values=_values(report),
            errors={},
            expired=_words()["form_expired"],
            privacy=_privacy(),
        )
    address = client_address(request)
    allowed = await limits.allow_rule("web_reports", "web-report", address)
    if not allowed:  # before the intake slot: on SQLite the limits queue in that same slot
        allowed = await _urgent_beyond_limit(fields.get("what", ""), address)
    outcome: flow.Answer | None = None
    async with flow.intake_slot(), session_scope() as session:
        schools = await _schools(session)
        report = _validate(fields, {s.code for s in schools})
        if allowed and not report.errors:
            try:
                outcome = await flow.take(session, _intake(report), ask=False)
            except IntakeError:
                await session.rollback()  # nothing half-written
                report.errors["what"] = _words()["errors"]["what_missing"]
    # Committed (or rolled back on error) above: only now is anything shown.
    if not allowed:
        # The child's words come back in the form, to be sent again in a few minutes.
        return _render(
            request,
            "bot/report.html",
            429,
            schools=schools,
            values=_values(report),
            errors={},
            expired=_words()["rate_limited"],
            privacy=_privacy(),
        )
    if outcome is None:
        return _render(
            request,
            "bot/report.html",
            400,
            schools=schools,
            values=_values(report),
            errors=report.errors,
            privacy=_privacy(),
        )
    code = outcome.received.receipt_code
    shown = format_receipt_code(code) if code else None
    return _render(
        request,
        "bot/receipt.html",
        receipt=shown,
        keep=receipt_links(shown) if shown else None,
        tools=texts.section("receipt_tools"),
        blocks=outcome.blocks,
        acknowledgement=outcome.acknowledgement,
        emergency=outcome.emergency,
        # In an emergency: an optional call-back number or place (bot/callback.py).
        callback_token=_new_token(outcome.case.id) if outcome.emergency else None,
        cb=texts.section("callback"),
    )


async def _urgent_beyond_limit(text: str, address: str) -> bool:
    """A report past its address's limit is still taken when its words alone read as urgent.

    After an incident at a school, its students write at once from one network address; the
    limit is there against floods, not against a child in danger. Such reports have a second,
    higher limit of their own, so that urgent-sounding text cannot flood the queue either.
    """
    rule = texts.limits()["web_reports_urgent"]
    if not text.strip():
        return False
    if urgency_rank(nlu.analyze(text).urgency) > urgency_rank(rule["from_urgency"]):
        return False
    return await limits.allow_rule("web_reports_urgent", "web-report-urgent", address)


def _intake(report: Report) -> Intake:
    return Intake(
        channel="web",
        # Every form report is its own anonymous reporter; the receipt code is the way back.
        reporter_ref=f"web:{uuid.uuid4()}",
        text=report.text(),
        reporter_kind=report.kind,
        contact=report.contact or None,
        org_code=report.school or None,
        new_case=True,
        with_receipt=True,
        new_reporter=True,
    )


# -- follow-up --------------------------------------------------------------------------------
def _token(case_id: int, expires: int) -> str:
    mac = get_keyring().keyed_hash("followup", f"{case_id}.{expires}")
    return f"{case_id}.{expires}.{mac}"


def _new_token(case_id: int) -> str:
    minutes = int(texts.limits()["followup_token_minutes"])
    return _token(case_id, int(time.time()) + minutes * 60)


def _case_id_from_token(token: str) -> int | None:
    """The case a follow-up page was opened for, while the page is fresh (no code resent)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    case_id, expires = int(parts[0]), int(parts[1])
    if expires < time.time() or not same(_token(case_id, expires), token):
        return None
    return case_id


@router.get("/follow-up", include_in_schema=False)
async def followup_form(request: Request) -> Response:
    return _render(request, "bot/followup_code.html", error=None)


async def _conversation_page(
    request: Request, session: AsyncSession, case: Case, **extra: Any
) -> dict[str, Any]:
    messages = await followup.conversation(session, case)
    return {
        "messages": [(m.direction, m.text or "", m.created_at) for m in messages],
        "case_number": case.number,
        "token": _new_token(case.id),
        "closed": texts.closing(case.closed_at, case.outcome)
        if case.status == CaseStatus.closed
        else None,
        **extra,
    }


@router.post("/follow-up", include_in_schema=False)
async def followup_open(request: Request) -> Response:
    fields = await _form(request)
    draft = fields.get("draft", "")[:MAX_TEXT_CHARS]
    if not csrf_ok(request, fields.get("csrf_token")):
        error = _words()["code_form_expired"]
        return _render(request, "bot/followup_code.html", 403, error=error, draft=draft)
    context: dict[str, Any] | None = None
    source = client_address(request)
    # Wrong codes count against the address, right ones against their code: a school's
    # students behind one address never use up each other's look-ups (issue 16).
    # Each count in its own short transaction, never inside another session (two connections
    # per request ran the pool dry under load).
    allowed = not await limits.exhausted_rule("receipt_failures", "receipt-fail", source)
    case_id = None
    if allowed:
        async with session_scope() as session:
            case = await followup.case_for_receipt(session, fields.get("code", "")[:64])
            case_id = case.id if case is not None else None
    if allowed and case_id is None:
        await limits.allow_rule("receipt_failures", "receipt-fail", source)
    elif allowed:
        allowed = await limits.allow_rule("receipt_opens", "receipt-open", str(case_id))
    if allowed and case_id is not None:
        async with session_scope() as session:
            found = await session.get(Case, case_id)
            if found is not None:
                context = await _conversation_page(request, session, found)
    if not allowed:
        return _render(request, "bot/message.html", 429, message=_words()["rate_limited"])
    if context is None:
        # The same words for a mistyped, unknown or malformed code: nothing about what exists.
        error = _words()["code_wrong"]
        return _render(request, "bot/followup_code.html", 404, error=error, draft=draft)
    return _render(request, "bot/conversation.html", draft=draft, **context)


@router.post("/follow-up/add", include_in_schema=False)
async def followup_add(request: Request) -> Response:
    fields = await _form(request)
    case_id = _case_id_from_token(fields.get("token", ""))
    if case_id is None or not csrf_ok(request, fields.get("csrf_token")):
        # The page was open too long: the code is asked again, and what was written rides
        # along with it into the conversation page.
        draft = fields.get("text", "")[:MAX_TEXT_CHARS]
        error = _words()["session_expired"]
        return _render(request, "bot/followup_code.html", 403, error=error, draft=draft)
    text, error = _check_text(fields.get("text", ""))
    allowed = await limits.allow_rule("web_followups", "web-followup", client_address(request))
    context: dict[str, Any] = {}
    async with flow.intake_slot(), session_scope() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise HTTPException(status_code=404)
        answer = None
        if allowed and error is None:
            intake = Intake(channel="web", reporter_ref="", text=text, case_id=case.id)
            try:
                answer = await flow.take(session, intake, ask=False)
            except IntakeError:
                await session.rollback()  # nothing half-written
                error = _words()["errors"]["text_missing"]
        context = await _conversation_page(request, session, case)
    if not allowed:
        return _render(request, "bot/message.html", 429, message=_words()["rate_limited"])
    if answer is None:
        return _render(request, "bot/conversation.html", 400, error=error, draft=text, **context)
    return _render(request, "bot/conversation.html", added=True, blocks=answer.blocks, **context)


def _check_text(raw: str) -> tuple[str, str | None]:
    errors = _words()["errors"]
    text = raw.strip()
    if not text:
        return text, errors["text_missing"]
    if len(text) > MAX_TEXT_CHARS:
        return text, errors["text_too_long"].format(limit=MAX_TEXT_CHARS)
    return text, None

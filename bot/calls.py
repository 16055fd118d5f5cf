"""The hotline call log: staff who answer the help phone record a call in the console.

A logged call goes through the same intake as any message (channel "phone"): understanding,
case, priority, escalation. A callback number, if the caller gave one, is the reporter's
identity (pseudonymised) and contact (encrypted), so a repeat caller continues their case.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import call_scripts, flow, limits, texts
from bot.webform import _form
from helpline import audit
from helpline.db import session_scope
from helpline.vocabulary import display, vocabulary
from helpline.web import check_csrf, csrf_token, templates_for
from triage import permissions as perm
from triage.deps import current_staff
from triage.intake import MAX_TEXT_CHARS, Intake, IntakeError
from triage.models import Case, Organisation, OrgKind, StaffUser
from triage.pages import nav_for

router = APIRouter(prefix="/console/calls")
templates = templates_for(
    Path(__file__).parent / "templates", Path(__file__).parent.parent / "triage" / "templates"
)
MAX_CALLBACK_CHARS = 40


def caller_kinds() -> dict[str, str]:
    """Caller types and their names: the reporter kinds of data/vocabulary.yaml, so the call
    log, the case page and the statistics name a caller alike."""
    return vocabulary()["reporter_kinds"]


def _error(key: str, **values: Any) -> str:
    return texts.text(f"calls.errors.{key}", **values)


def _render(request: Request, staff: StaffUser, status: int = 200, **context: Any) -> Response:
    kinds = caller_kinds()
    context.update(staff=staff, csrf=csrf_token(request), nav=nav_for(staff), kinds=kinds)
    return templates.TemplateResponse(request, "bot/call_new.html", context, status_code=status)


async def _orgs_for(staff: StaffUser) -> list[Organisation]:
    """Schools a call may be filed under: the staff member's own, or their district's."""
    async with session_scope() as session:
        if staff.org.kind == OrgKind.school:
            org = await session.get(Organisation, staff.org_id)
            return [org] if org is not None else []
        rows = await session.execute(
            select(Organisation)
            .where((Organisation.id == staff.org_id) | (Organisation.parent_id == staff.org_id))
            .order_by(Organisation.kind, Organisation.name)
        )
        return list(rows.scalars())


async def _own_calls(staff: StaffUser) -> list[Case]:
    """The operator's logged calls nobody has taken yet (they may reopen and add to them)."""
    async with session_scope() as session:
        rows = await session.execute(
            select(Case).where(perm.own_calls_clause(staff)).order_by(Case.id.desc()).limit(50)
        )
        return list(rows.scalars())


@router.get("/new", include_in_schema=False)
async def call_form(request: Request, staff: StaffUser = Depends(current_staff)) -> Response:
    perm.require(perm.can_log_calls(staff))
    return _render(
        request,
        staff,
        orgs=await _orgs_for(staff),
        values={},
        errors={},
        my_calls=await _own_calls(staff),
    )


def _validate(fields: dict[str, str], org_codes: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    values = {
        "kind": fields.get("caller_kind", "unknown"),
        "text": fields.get("text", "").strip(),
        "callback": fields.get("callback", "").strip(),
        "org": fields.get("org", "").strip(),
    }
    errors: dict[str, str] = {}
    if values["kind"] not in caller_kinds():
        errors["kind"] = _error("kind_bad")
    if not values["text"]:
        errors["text"] = _error("text_missing")
    elif len(values["text"]) > MAX_TEXT_CHARS:
        errors["text"] = _error("text_too_long", limit=MAX_TEXT_CHARS)
    if len(values["callback"]) > MAX_CALLBACK_CHARS:
        errors["callback"] = _error("callback_too_long", limit=MAX_CALLBACK_CHARS)
    if values["org"] not in org_codes:
        errors["org"] = _error("org_bad")
    return values, errors


@router.post("/new", include_in_schema=False)
async def call_submit(request: Request, staff: StaffUser = Depends(current_staff)) -> Response:
    perm.require(perm.can_log_calls(staff))
    fields = await _form(request)
    check_csrf(request, fields.get("csrf_token"))
    orgs = await _orgs_for(staff)
    values, errors = _validate(fields, {o.code for o in orgs})
    allowed = await limits.allow_rule("phone_calls", "phone-call", str(staff.id))
    answer, script = None, []
    async with flow.intake_slot(), session_scope() as session:
        if allowed and not errors:
            try:
                answer = await flow.take(session, _intake(values, staff), ask=False)
            except IntakeError:
                await session.rollback()  # nothing half-written
                errors["text"] = _error("text_missing")
            else:
                script = await _script(session, answer, values["kind"])
                await audit.record(
                    session, f"staff:{staff.id}", "call.logged", "case", answer.case.id
                )
    if not allowed:
        errors["form"] = _error("rate_limited")
    if answer is None:
        return _render(request, staff, 400, orgs=orgs, values=values, errors=errors)
    return _render(
        request,
        staff,
        orgs=orgs,
        values={},
        errors={},
        logged=answer.case,
        blocks=script,
        caller_kind=values["kind"],
        my_calls=await _own_calls(staff),
        labels=answer.received.analysis.labels,
        label_names=[display("labels", code) for code in answer.received.analysis.labels],
        urgency=answer.received.analysis.urgency,
        urgency_name=display("urgencies", answer.received.analysis.urgency),
    )


async def _script(session: AsyncSession, answer: flow.Answer, kind: str) -> list[texts.SafetyBlock]:
    """The operator's script for this caller (not the words to a child in the chat)."""
    received = answer.received
    newly_mandatory = received.analysis.mandatory_report and (received.new_case or received.raised)
    region = await flow.region_of(session, answer.case)
    analysis = received.analysis
    return call_scripts.blocks(kind, analysis.labels, analysis.urgency, newly_mandatory, region)


def _intake(values: dict[str, str], staff: StaffUser) -> Intake:
    callback = values["callback"]
    return Intake(
        channel="phone",
        # A repeat caller (same callback number) continues their case; otherwise a new one.
        reporter_ref=f"call:{callback}" if callback else f"call:{uuid.uuid4()}",
        text=values["text"],
        reporter_kind=values["kind"],
        contact=callback or None,
        org_code=values["org"],
        # The operator may read and add to the call until a counsellor takes it (issue 14).
        logged_by=staff.id,
    )

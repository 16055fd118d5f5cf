"""The console's escalation-policy editor (issue 17): one form per policy in the
administrator's scope, its steps with their targets, waits and channels; plain forms that
work without JavaScript."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import export, policy_edit, roster_edit
from escalation.models import NOTIFY_KINDS, EscalationPolicy
from escalation.web import render
from helpline import audit
from helpline.web import DbSession, check_csrf
from triage import permissions as perm
from triage.deps import current_staff
from triage.models import Role, StaffUser
from triage.orgs import org_table
from triage.policy import URGENCY_ORDER

router = APIRouter(prefix="/console/admin/policies")
export_router = APIRouter()


def _view(policy: EscalationPolicy, code: str, entry: dict[str, Any] | None = None) -> dict:
    """A policy as the form shows it: stored, or (after a refusal) as typed."""
    source = entry or {
        "name": policy.name,
        "urgencies": policy.urgencies,
        "repeat": policy.repeat,
        "reack_minutes": policy.reack_minutes,
        "steps": policy.steps,
    }
    steps = [
        {
            "targets": policy_edit.targets_of(step),
            "wait_minutes": step.get("wait_minutes", ""),
            "all_channels": bool(step.get("all_channels")),
        }
        for step in source["steps"]
    ]
    return {**source, "id": policy.id, "org": code, "steps": steps}


async def _page(
    request: Request,
    staff: StaffUser,
    session: AsyncSession,
    status_code: int = 200,
    reasons: list[str] | None = None,
    typed: dict[int, dict[str, Any]] | None = None,
) -> Response:
    orgs = (await org_table(session)).by_id
    policies = await policy_edit.policies_in_scope(session, staff)
    msg = request.query_params.get("msg")
    return render(
        request,
        "escalation/policies.html",
        staff,
        status_code=status_code,
        policies=[_view(p, orgs[p.org_id].code, (typed or {}).get(p.id)) for p in policies],
        org_names={o.code: o.name for o in orgs.values()},
        urgencies=URGENCY_ORDER,
        notify_kinds=NOTIFY_KINDS,
        roles=list(Role),
        max_targets=policy_edit.MAX_TARGETS,
        notice=roster_edit.words()["messages"].get(msg or ""),
        reasons=reasons or [],
        refused_lead=roster_edit.words()["refused"],
    )


@router.get("")
async def policies_page(
    request: Request,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    perm.require(perm.can_administer(staff))
    return await _page(request, staff, session)


@router.post("/{policy_id}")
async def save_policy(
    request: Request,
    policy_id: int,
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """Check the policy as the YAML's, then by coverage; save, or the page again (400)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token") or ""))
    perm.require(perm.can_administer(staff))
    policy = next(
        (p for p in await policy_edit.policies_in_scope(session, staff) if p.id == policy_id),
        None,
    )
    if policy is None:
        raise HTTPException(status_code=404, detail=roster_edit.words()["no_policy"])
    fields = {key: str(value)[:200] for key, value in form.items()}
    urgencies = [str(u) for u in form.getlist("urgencies") if str(u) in URGENCY_ORDER]
    code = (await org_table(session)).by_id[policy.org_id].code
    try:
        entry = policy_edit.policy_from_form(code, fields, urgencies)
        await policy_edit.save(session, staff, policy, entry)
    except policy_edit.ChangeRefused as refused:
        typed = {
            "name": fields.get("name", ""),
            "urgencies": urgencies,
            "repeat": fields.get("repeat", ""),
            "reack_minutes": fields.get("reack_minutes", ""),
            "steps": policy_edit.steps_from_form(fields),
        }
        return await _page(request, staff, session, 400, refused.reasons, {policy.id: typed})
    return RedirectResponse("/console/admin/policies?msg=policy_saved", status_code=303)


@export_router.get("/console/admin/config.yaml")
async def export_yaml(
    staff: StaffUser = Depends(current_staff),
    session: AsyncSession = DbSession,
) -> Response:
    """The configuration in force as YAML (what `helpline config-export` writes), a download
    for administrators; it holds addresses, so it is audited and never cached."""
    perm.require(perm.can_administer(staff))
    text = export.dump(await export.export_config(session))
    await audit.record(session, f"staff:{staff.id}", "config.exported", "config", "")
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="helpline-config.yaml"',
            "Cache-Control": "no-store",
        },
    )

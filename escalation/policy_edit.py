"""Escalation policies edited in the console (issue 17): name, urgencies, rounds, re-alert
minutes and the steps (whom each step reaches, how long it waits, every channel at once).

A policy from the form is checked field by field as an entry of the YAML's
escalation_policies is (`configfile.check_policy`, the same words), then by the coverage check
(`coverage.refuse_new_gaps`: a change that leaves some urgency of some organisation with nobody
to alert is refused in the check's words); saved and audited with field names only. The chain
reads policies through the configuration cache, which every change invalidates: the next case
takes the new steps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import audited, configfile, coverage
from escalation.models import EscalationPolicy
from triage import permissions as perm
from triage.models import StaffUser

ChangeRefused = coverage.ChangeRefused
TARGET_FIELDS = ("notify", "org", "role", "staff", "group")
MAX_STEPS = 12
MAX_TARGETS = 6


def _int(value: str) -> int | str:
    value = value.strip()
    return int(value) if value.isdigit() else value


def _target(form: dict[str, str], prefix: str) -> dict[str, Any]:
    return {
        name: value
        for name in TARGET_FIELDS
        if (value := (form.get(f"{prefix}_{name}") or "").strip())
    }


def steps_from_form(form: dict[str, str]) -> list[dict[str, Any]]:
    """The steps the form describes: step i's targets are fields s{i}_t{j}_notify and so on;
    a target without `notify` and a step without targets (the blank ones) are left out."""
    steps = []
    for i in range(MAX_STEPS):
        if f"s{i}_wait" not in form or form.get(f"s{i}_remove"):
            continue
        targets = [
            target
            for j in range(MAX_TARGETS)
            if (target := _target(form, f"s{i}_t{j}")).get("notify")
        ]
        if not targets:
            continue
        step: dict[str, Any] = dict(targets[0]) if len(targets) == 1 else {"targets": targets}
        if form.get(f"s{i}_wait", "").strip():
            step["wait_minutes"] = _int(form[f"s{i}_wait"])
        if form.get(f"s{i}_all"):
            step["all_channels"] = True
        steps.append(step)
    return steps


def policy_from_form(org: str, form: dict[str, str], urgencies: list[str]) -> dict[str, Any]:
    """The policy as a configuration entry, checked as the YAML's (ChangeRefused otherwise)."""
    policy: dict[str, Any] = {
        "org": org,
        "name": (form.get("name") or "").strip(),
        "urgencies": urgencies,
        "steps": steps_from_form(form),
    }
    for name in ("repeat", "reack_minutes"):
        if (form.get(name) or "").strip():
            policy[name] = _int(form[name])
    try:
        return configfile.check_policy(policy)
    except configfile.ConfigFileError as exc:
        raise ChangeRefused([exc.message]) from None


def targets_of(step: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored step's targets (one written inline, or `targets`), for the form."""
    return list(step.get("targets") or [{k: v for k, v in step.items() if k in TARGET_FIELDS}])


async def policies_in_scope(session: AsyncSession, staff: StaffUser) -> list[EscalationPolicy]:
    found = await session.execute(
        select(EscalationPolicy)
        .where(
            EscalationPolicy.active.is_(True),
            perm.scope_org_clause(staff, EscalationPolicy.org_id),
        )
        .order_by(EscalationPolicy.id)
    )
    return list(found.scalars())


async def save(
    session: AsyncSession, admin: StaffUser, policy: EscalationPolicy, entry: dict[str, Any]
) -> list[str]:
    """Store the checked entry if the coverage check finds no new gap; the changed fields."""
    before = await coverage.from_db(session)
    changed_policy = coverage.Policy(
        entry["org"], entry["name"], tuple(entry["urgencies"]), tuple(entry["steps"])
    )
    policies = tuple(
        replace(changed_policy, where=p.where, key=p.key) if p.key == policy.id else p
        for p in before.policies
    )
    coverage.refuse_new_gaps(before, replace(before, policies=policies))
    values = {
        "name": entry["name"],
        "urgencies": list(entry["urgencies"]),
        "repeat": int(entry.get("repeat") or 1),
        "reack_minutes": entry.get("reack_minutes"),
        "steps": [dict(step) for step in entry["steps"]],
    }
    return await audited.set_fields(session, admin, policy, values, "policy.changed", "policy")

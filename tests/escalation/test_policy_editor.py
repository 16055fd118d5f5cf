"""Escalation policies edited in the console (issue 17): checked field by field as the YAML's
entries are and by the coverage check (refused in their words, nothing saved), audited with
field names only, and the next emergency's chain takes the new steps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from escalation.models import EscalationPolicy
from escalation.worker import Worker
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.escalation.support import SCHOOL_POLICY, Clock, deliveries, emergency_case
from tests.support.web import csrf_from, login
from tests.triage.support import staff_id

PAGE = "/console/admin/policies"
# Monday 2026-11-16 10:00 in Shanghai: duty.a is on duty at sch-a (data/demo).
MONDAY_10 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


async def _emergency_policy() -> EscalationPolicy:
    async with session_scope() as s:
        found = await s.execute(select(EscalationPolicy).order_by(EscalationPolicy.id))
        return next(p for p in found.scalars() if "emergency" in p.urgencies)


def _form(csrf: str, policy: EscalationPolicy, **steps: str) -> dict:
    """The policy's form as the page posts it, with the step fields given."""
    return {
        "csrf_token": csrf,
        "name": policy.name,
        "urgencies": list(policy.urgencies),
        "repeat": str(policy.repeat),
        "reack_minutes": str(policy.reack_minutes or ""),
        **steps,
    }


async def _events() -> list[AuditEvent]:
    async with session_scope() as s:
        found = await s.execute(select(AuditEvent).where(AuditEvent.action == "policy.changed"))
        return list(found.scalars())


async def test_a_changed_step_is_audited_and_the_next_emergency_follows_it(client) -> None:  # noqa: ANN001
    policy = await _emergency_policy()
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(PAGE)
    assert page.status_code == 200 and f'id="policy-{policy.id}"' in page.text
    # First step: the school's counsellors (instead of who is on duty), every channel at once;
    # then the district's duty officer.
    steps = {
        "s0_t0_notify": "role",
        "s0_t0_role": "counsellor",
        "s0_t0_org": "school",
        "s0_wait": "2",
        "s0_all": "1",
        "s1_t0_notify": "on_duty",
        "s1_t0_org": "district",
        "s1_wait": "5",
    }
    saved = await client.post(
        f"{PAGE}/{policy.id}", data=_form(csrf_from(page.text), policy, **steps)
    )
    assert saved.status_code == 303, saved.text
    after = await _emergency_policy()
    assert after.steps == [
        {"notify": "role", "role": "counsellor", "org": "school", "wait_minutes": 2,
         "all_channels": True},
        {"notify": "on_duty", "org": "district", "wait_minutes": 5},
    ]  # fmt: skip
    (event,) = await _events()
    assert event.details == {"fields": ["steps"]}
    assert "counsellor" not in json.dumps(event.details)

    case_id = await emergency_case(MONDAY_10)
    await Worker(Clock(MONDAY_10)).drain()
    first = {d.staff_id for d in await deliveries(case_id) if d.step == 0}
    assert first == {await staff_id("counsellor.a")}


async def test_a_policy_the_checks_refuse_is_not_saved(client) -> None:  # noqa: ANN001
    policy = await _emergency_policy()
    assert (await login(client, "admin.district")).status_code == 303
    csrf = csrf_from((await client.get(PAGE)).text)
    # A role step without its role: the configuration file's own words.
    no_role = await client.post(
        f"{PAGE}/{policy.id}",
        data=_form(csrf, policy, s0_t0_notify="role", s0_t0_org="school", s0_wait="2"),
    )
    assert no_role.status_code == 400 and "需要字段 &#39;role&#39;" in no_role.text
    assert 'value="2"' in no_role.text  # what was typed is still there
    not_a_number = await client.post(
        f"{PAGE}/{policy.id}",
        data=_form(csrf, policy, s0_t0_notify="on_duty", s0_wait="soon"),
    )
    assert not_a_number.status_code == 400 and "非负整数" in not_a_number.text
    # Only a group channel nobody configured: emergencies would reach nobody (coverage).
    nobody = await client.post(
        f"{PAGE}/{policy.id}",
        data=_form(csrf, policy, s0_t0_notify="group", s0_t0_group="no-such-group", s0_wait="2"),
    )
    assert nobody.status_code == 400 and 'id="policy-refused"' in nobody.text
    assert "没有名为 &#39;no-such-group&#39; 的群组提醒渠道" in nobody.text
    assert "没有可提醒的人" in nobody.text
    # No urgency at all.
    bare = _form(csrf, policy, s0_t0_notify="on_duty", s0_wait="2")
    bare["urgencies"] = []
    assert (await client.post(f"{PAGE}/{policy.id}", data=bare)).status_code == 400
    assert (await _emergency_policy()).steps == policy.steps
    assert await _events() == []


async def test_only_administrators_edit_policies(client) -> None:  # noqa: ANN001
    policy = await _emergency_policy()
    assert (await login(client, "lead.a")).status_code == 303
    home = await client.get("/console")
    assert (await client.get(PAGE)).status_code == 403
    posted = await client.post(
        f"{PAGE}/{policy.id}",
        data=_form(csrf_from(home.text), policy, s0_t0_notify="on_duty", s0_wait="1"),
    )
    assert posted.status_code == 403 and (await _emergency_policy()).steps == policy.steps
    assert (await login(client, "admin.district")).status_code == 303
    assert (await client.post(f"{PAGE}/{policy.id}", data={"name": "x"})).status_code in (400, 403)
    assert (await _emergency_policy()).steps == policy.steps


def _fields_of(html: str, form_id: str) -> dict[str, list[str]]:
    """What a browser posts for the form as the page shows it (values, selected options,
    checked boxes), without changing anything."""
    import lxml.html

    form = lxml.html.fromstring(html).get_element_by_id(form_id)
    fields: dict[str, list[str]] = {}
    for name, value in form.form_values():
        fields.setdefault(name, []).append(value)
    return fields


# The school policy of the `wired` fixture (a step of two targets, every channel at once, a
# role, the district's duty) and a named person: every kind of field the form has.
MULTI = {
    **SCHOOL_POLICY,
    "steps": [*SCHOOL_POLICY["steps"], {"notify": "staff", "staff": "lead.district"}],
}


async def test_a_policy_posted_back_unchanged_stays_the_same(client) -> None:  # noqa: ANN001
    from escalation import config_import

    async with session_scope() as s:
        await config_import.add_channel(
            s, {"org": "sch-a", "name": "duty-group", "kind": "webhook", "url": "http://x.invalid"}
        )
        policy = await config_import.add_policy(s, MULTI)
    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(PAGE)
    fields = _fields_of(page.text, f"policy-{policy.id}")
    posted = await client.post(f"{PAGE}/{policy.id}", data=fields)
    assert posted.status_code == 303, posted.text
    async with session_scope() as s:
        assert (await s.get(EscalationPolicy, policy.id)).steps == MULTI["steps"]
    assert await _events() == []
    # Removing the group target (its notify set to none) is one change, audited.
    edited = {**fields, "s0_t1_notify": [""]}
    assert (await client.post(f"{PAGE}/{policy.id}", data=edited)).status_code == 303
    async with session_scope() as s:
        first = (await s.get(EscalationPolicy, policy.id)).steps[0]
    assert first == {"notify": "on_duty", "org": "school", "wait_minutes": 2, "all_channels": True}
    assert (await s.get(EscalationPolicy, policy.id)).steps[1:] == MULTI["steps"][1:]
    assert len(await _events()) == 1

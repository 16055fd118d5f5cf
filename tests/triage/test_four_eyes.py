"""Separation of duties: nobody gains access to case content through an admin alone (issue 14).

An administrator created a district safeguarding-lead account and read sexual-abuse cases with
it; the only trace was `staff.created`. Now every way an admin could give an account a role
that reads content (or the admin role that approves such grants) is a request that a second
administrator must approve; the requester cannot approve, and gets no credentials.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import DEMO_PASSWORD, csrf_from, login
from tests.triage.support import SEXUAL_ABUSE, new_case
from triage.models import RoleGrant, StaffUser

GUARDED = ["counsellor", "safeguarding_lead", "duty_officer", "hotline", "admin"]


async def _person(username: str) -> StaffUser:
    async with session_scope() as s:
        return (
            await s.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()


async def _grants(staff_id: int) -> list[RoleGrant]:
    async with session_scope() as s:
        found = await s.execute(
            select(RoleGrant).where(RoleGrant.staff_id == staff_id).order_by(RoleGrant.id)
        )
        return list(found.scalars())


async def _actions(object_id: int) -> list[tuple[str, str]]:
    async with session_scope() as s:
        found = await s.execute(
            select(AuditEvent.actor, AuditEvent.action)
            .where(AuditEvent.object_type == "staff", AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id)
        )
        return [(a, b) for a, b in found.all()]


async def _admin(client: httpx.AsyncClient, username: str = "admin.district") -> str:
    client.cookies.clear()
    assert (await login(client, username)).status_code == 303
    return csrf_from((await client.get("/console/admin/staff")).text)


async def _create(client: httpx.AsyncClient, csrf: str, username: str, role: str) -> httpx.Response:
    return await client.post(
        "/console/admin/staff",
        data={
            "csrf_token": csrf,
            "username": username,
            "display_name": "新同事",
            "role": role,
            "org": "qp-demo",
        },
    )


@pytest.mark.parametrize("role", GUARDED)
async def test_an_account_that_reads_content_needs_a_second_admin(client, role) -> None:  # noqa: ANN001
    await new_case(SEXUAL_ABUSE, "sch-a")
    csrf = await _admin(client)
    created = await _create(client, csrf, f"new.{role.replace('_', '-')}", role)
    assert created.status_code == 303 and "grant_requested" in created.headers["location"]
    person = await _person(f"new.{role.replace('_', '-')}")
    assert person.role == role and not person.active and person.totp_secret is None
    (grant,) = await _grants(person.id)
    assert grant.state == "pending" and grant.action == "create"

    # The requester cannot approve, not even by a forged post.
    mine = await client.post(f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": csrf})
    assert mine.status_code == 400 and "不能批准自己提出的申请" in mine.text
    # Nor switch the account on another way while the request waits.
    on = await client.post(
        f"/console/admin/staff/{person.id}/active", data={"csrf_token": csrf, "active": "true"}
    )
    assert on.status_code == 400
    assert not (await _person(person.username)).active
    # The account cannot sign in (inactive, no password anyone knows, no second factor).
    outsider = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    page = await outsider.get("/console/login")
    refused = await outsider.post(
        "/console/login",
        data={
            "username": person.username,
            "password": DEMO_PASSWORD,
            "totp": "000000",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert refused.status_code != 303

    # The second administrator approves and is handed the credentials, once.
    csrf2 = await _admin(client, "admin2.district")
    listing = await client.get("/console/admin/staff")
    assert f'id="grant-{grant.id}"' in listing.text and "approve-grant" in listing.text
    approved = await client.post(
        f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": csrf2}
    )
    assert approved.status_code == 200 and 'id="new-password"' in approved.text
    person = await _person(person.username)
    assert person.active and person.role == role
    if role != "admin":
        assert person.totp_secret and 'id="totp-uri"' in approved.text
    admin1, admin2 = await _person("admin.district"), await _person("admin2.district")
    assert await _actions(person.id) == [
        (f"staff:{admin1.id}", "staff.created"),
        (f"staff:{admin1.id}", "grant.requested"),
        (f"staff:{admin2.id}", "grant.approved"),
    ]
    again = await client.post(
        f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": csrf2}
    )
    assert again.status_code == 400


async def test_an_auditor_account_is_made_at_once(client) -> None:  # noqa: ANN001
    csrf = await _admin(client)
    created = await _create(client, csrf, "new.auditor", "auditor")
    assert created.status_code == 200 and 'id="new-password"' in created.text
    person = await _person("new.auditor")
    assert person.active and await _grants(person.id) == []


async def test_role_change_reactivation_and_password_are_requests(client) -> None:  # noqa: ANN001
    csrf = await _admin(client)
    auditor = await _person("auditor.district")
    counsellor = await _person("counsellor.b")

    # auditor -> safeguarding lead: requested, the role stays until approved; refused here.
    asked = await client.post(
        f"/console/admin/staff/{auditor.id}/role",
        data={"csrf_token": csrf, "role": "safeguarding_lead"},
    )
    assert "grant_requested" in asked.headers["location"]
    assert (await _person("auditor.district")).role == "auditor"
    (grant,) = await _grants(auditor.id)
    csrf2 = await _admin(client, "admin2.district")
    refused = await client.post(
        f"/console/admin/grants/{grant.id}/refuse", data={"csrf_token": csrf2}
    )
    assert refused.status_code == 303
    assert (await _person("auditor.district")).role == "auditor"
    assert (await _grants(auditor.id))[0].state == "refused"

    # A new password for a counsellor: requested; the hash does not change until approved.
    csrf = await _admin(client)
    before = counsellor.password_hash
    reset = await client.post(
        f"/console/admin/staff/{counsellor.id}/password", data={"csrf_token": csrf}
    )
    assert "grant_requested" in reset.headers["location"]
    assert (await _person("counsellor.b")).password_hash == before
    (pw_grant,) = await _grants(counsellor.id)
    withdrawn = await client.post(
        f"/console/admin/grants/{pw_grant.id}/refuse", data={"csrf_token": csrf}
    )
    assert withdrawn.status_code == 303
    assert (await _grants(counsellor.id))[0].state == "withdrawn"

    # Deactivating is immediate; activating again is a request.
    off = await client.post(
        f"/console/admin/staff/{counsellor.id}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert "staff_updated" in off.headers["location"]
    assert not (await _person("counsellor.b")).active
    on = await client.post(
        f"/console/admin/staff/{counsellor.id}/active", data={"csrf_token": csrf, "active": "true"}
    )
    assert "grant_requested" in on.headers["location"]
    assert not (await _person("counsellor.b")).active
    grant = (await _grants(counsellor.id))[-1]
    csrf2 = await _admin(client, "admin2.district")
    assert (
        await client.post(f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": csrf2})
    ).status_code == 303
    assert (await _person("counsellor.b")).active

    admin1, admin2 = await _person("admin.district"), await _person("admin2.district")
    audited = await _actions(counsellor.id)
    assert (f"staff:{admin1.id}", "grant.withdrawn") in audited
    assert (f"staff:{admin2.id}", "grant.approved") in audited
    assert (f"staff:{admin2.id}", "grant.refused") in await _actions(auditor.id)


async def test_an_admin_sees_no_case_content_anywhere(client) -> None:  # noqa: ANN001
    """Every page an admin can open, after a restricted case exists: none shows its text."""
    case_id = await new_case(SEXUAL_ABUSE, "sch-a")
    await _admin(client)
    pages = [
        "/console",
        "/console/admin/staff",
        "/console/admin/schools",
        "/console/admin/targets",
        "/console/statistics",
        "/console/compliance",
        "/console/bullying",
    ]
    for url in pages:
        text = (await client.get(url)).text
        assert "摸我" not in text and "不让我告诉别人" not in text, url
    assert (await client.get(f"/console/cases/{case_id}")).status_code == 403
    assert (await client.get("/console/queue")).status_code == 403


async def test_promoting_an_account_the_requester_holds_issues_new_credentials(client) -> None:  # noqa: ANN001
    """An admin makes an auditor at once (and holds its password and key), then asks for it to
    become a safeguarding lead: the second admin's approval must not hand the requester a lead's
    login. New credentials go to the approver; the requester's old ones no longer sign in."""
    await new_case(SEXUAL_ABUSE, "sch-a")
    csrf = await _admin(client)
    made = await _create(client, csrf, "mole.auditor", "auditor")
    assert made.status_code == 200 and 'id="new-password"' in made.text
    held_password = made.text.split('id="new-password"')[1].split(">", 1)[1].split("<", 1)[0]
    before = await _person("mole.auditor")
    asked = await client.post(
        f"/console/admin/staff/{before.id}/role",
        data={"csrf_token": csrf, "role": "safeguarding_lead"},
    )
    assert "grant_requested" in asked.headers["location"]
    (grant,) = await _grants(before.id)

    csrf2 = await _admin(client, "admin2.district")
    approved = await client.post(
        f"/console/admin/grants/{grant.id}/approve", data={"csrf_token": csrf2}
    )
    assert approved.status_code == 200
    assert 'id="new-password"' in approved.text and 'id="totp-uri"' in approved.text
    after = await _person("mole.auditor")
    assert after.role == "safeguarding_lead" and after.active
    assert after.password_hash != before.password_hash
    assert after.totp_secret != before.totp_secret
    client.cookies.clear()
    assert (await login(client, "mole.auditor", held_password)).status_code != 303

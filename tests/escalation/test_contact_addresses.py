"""Staff alert addresses edited in the admin console (issue 17): the same coverage check as
`helpline config check` on the YAML refuses a change that opens a gap, in its words; a saved
change is audited with field names only; the page's 发送测试通知 button sends the trial alert to
the saved address (real SMTP sink)."""

from __future__ import annotations

import json
import os

from sqlalchemy import select

from escalation import coverage
from helpline.audit import AuditEvent
from helpline.db import session_scope
from helpline.settings import reset_settings
from tests.support.smtp import SmtpSink
from tests.support.web import csrf_from, login
from triage.models import StaffUser


async def _person(username: str) -> StaffUser:
    async with session_scope() as s:
        return (
            await s.execute(select(StaffUser).where(StaffUser.username == username))
        ).scalar_one()


async def _contact_events(staff_id: int) -> list[AuditEvent]:
    async with session_scope() as s:
        found = await s.execute(
            select(AuditEvent).where(
                AuditEvent.action == "staff.contact_changed",
                AuditEvent.object_id == str(staff_id),
            )
        )
        return list(found.scalars())


async def test_an_address_is_saved_audited_and_tested(client) -> None:  # noqa: ANN001
    counsellor = await _person("counsellor.a")
    assert (await login(client, "admin.district")).status_code == 303
    listing = await client.get("/console/admin/staff")
    assert f'href="/console/admin/staff/{counsellor.id}/contact"' in listing.text
    page = await client.get(f"/console/admin/staff/{counsellor.id}/contact")
    assert page.status_code == 200 and "counsellor.a@demo.invalid" in page.text
    assert f'action="/console/admin/staff/{counsellor.id}/test-alert"' in page.text
    csrf = csrf_from(page.text)
    saved = await client.post(
        f"/console/admin/staff/{counsellor.id}/contact",
        data={"csrf_token": csrf, "email": " wang.new@demo.invalid ", "phone": "13800000000"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("msg=saved")
    after = await _person("counsellor.a")
    assert after.email == "wang.new@demo.invalid" and after.phone == "13800000000"
    (event,) = await _contact_events(counsellor.id)
    details = json.dumps(event.details, ensure_ascii=False)
    assert sorted(event.details["fields"]) == ["email", "phone"]
    assert "wang.new" not in details and "13800000000" not in details

    with SmtpSink() as smtp:
        os.environ["HELPLINE_SMTP_PORT"] = str(smtp.port)
        reset_settings()
        try:
            tried = await client.post(
                f"/console/admin/staff/{counsellor.id}/test-alert", data={"csrf_token": csrf}
            )
        finally:
            os.environ.pop("HELPLINE_SMTP_PORT")
            reset_settings()
        assert tried.status_code == 200
        assert 'data-kind="email" data-outcome="delivered"' in tried.text
        ((rcpt, _, _),) = smtp.messages
        assert rcpt == ["wang.new@demo.invalid"]


async def test_a_change_that_opens_a_gap_is_refused_in_the_checks_words(client) -> None:  # noqa: ANN001
    lead = await _person("lead.a")
    # What the coverage check (the one `helpline config check` runs) says of the same change.
    async with session_scope() as s:
        setup = await coverage.from_db(s)
    expected = coverage.new_gaps(setup, coverage.with_channels(setup, "lead.a", ()))
    assert expected and all(g.code == "no_channel" for g in expected)

    assert (await login(client, "admin.district")).status_code == 303
    page = await client.get(f"/console/admin/staff/{lead.id}/contact")
    refused = await client.post(
        f"/console/admin/staff/{lead.id}/contact",
        data={"csrf_token": csrf_from(page.text), "email": "", "phone": "  "},
    )
    assert refused.status_code == 400 and 'id="contact-refused"' in refused.text
    for gap in expected:
        assert gap.message.replace("'", "&#39;") in refused.text
    assert (await _person("lead.a")).email == lead.email
    assert await _contact_events(lead.id) == []

    too_long = await client.post(
        f"/console/admin/staff/{lead.id}/contact",
        data={"csrf_token": csrf_from(page.text), "email": "a" * 201},
    )
    assert too_long.status_code == 400 and (await _person("lead.a")).email == lead.email


async def test_only_an_administrator_in_scope_edits_addresses(client) -> None:  # noqa: ANN001
    lead = await _person("lead.a")
    assert (await login(client, "counsellor.a")).status_code == 303
    home = await client.get("/console")
    assert (await client.get(f"/console/admin/staff/{lead.id}/contact")).status_code == 403
    posted = await client.post(
        f"/console/admin/staff/{lead.id}/contact",
        data={"csrf_token": csrf_from(home.text), "email": "x@demo.invalid"},
    )
    assert posted.status_code == 403 and (await _person("lead.a")).email == lead.email

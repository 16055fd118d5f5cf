"""What staff see of alerts that do not get through, and of a closed case (issue 13)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from escalation.models import StatutoryReport
from escalation.worker import Worker
from helpline.db import session_scope
from tests.escalation.support import Clock
from tests.escalation.test_faults import emergency_case
from tests.support.smtp import SmtpSink
from tests.support.web import login
from triage.casework import close_case
from triage.models import Case, StaffUser

pytestmark = pytest.mark.asyncio

BANNER = 'id="console-banner"'


async def _page(client: httpx.AsyncClient, username: str, url: str) -> str:
    client.cookies.clear()
    await login(client, username)
    answer = await client.get(url)
    assert answer.status_code == 200
    return answer.text


async def test_incident_banner_for_duty_leads_admins_only(
    mail: SmtpSink, clock: Clock, client: httpx.AsyncClient
) -> None:
    mail.refuse = True
    case_id = await emergency_case(clock())
    await Worker(clock).drain()

    for username, url in (
        ("duty.a", "/console"),
        ("duty.a", "/console/deadlines"),
        ("lead.a", f"/console/cases/{case_id}"),
        ("admin.district", "/console"),
    ):
        html = await _page(client, username, url)
        assert BANNER in html, (username, url)
        assert "至今无人收到" in html and "smtp_SMTPRecipientsRefused" in html
        assert "@" not in html.split(BANNER)[1].split("</div>")[0]  # no address in the banner
    # A counsellor of the same school does not answer for alert delivery: no banner.
    assert BANNER not in await _page(client, "counsellor.a", "/console")
    # The case panel says so too, never "已通知完所有联系人".
    panel = await _page(client, "duty.a", f"/console/cases/{case_id}")
    assert 'data-incident="1"' in panel and "已通知完所有联系人" not in panel

    # Delivery works again: the banner goes once an alert is out.
    mail.refuse = False
    clock.advance(seconds=31)
    await Worker(clock).drain()
    assert mail.messages
    assert BANNER not in await _page(client, "duty.a", "/console")


async def test_closed_case_page_offers_no_ack_and_no_return(
    mail: SmtpSink, clock: Clock, client: httpx.AsyncClient
) -> None:
    case_id = await emergency_case(clock())
    await Worker(clock).drain()
    async with session_scope() as session:
        lead = (
            await session.execute(select(StaffUser).where(StaffUser.username == "lead.a"))
        ).scalar_one()
        case = await session.get(Case, case_id)
        case.assignee_id = lead.id
    open_page = await _page(client, "lead.a", f"/console/cases/{case_id}")
    assert 'id="acknowledge"' in open_page and 'id="release"' in open_page
    async with session_scope() as session:
        await session.execute(
            update(StatutoryReport)
            .where(StatutoryReport.case_id == case_id)
            .values(state="done", made_at=clock())
        )
        lead = (
            await session.execute(select(StaffUser).where(StaffUser.username == "lead.a"))
        ).scalar_one()
        assert (
            await close_case(session, lead, await session.get(Case, case_id), "resolved", "好")
            == []
        )
    closed = await _page(client, "lead.a", f"/console/cases/{case_id}")
    assert 'id="acknowledge"' not in closed and "确认收到" not in closed
    assert 'id="release"' not in closed and "退回队列" not in closed
    assert "个案已结案，通知已停止" in closed

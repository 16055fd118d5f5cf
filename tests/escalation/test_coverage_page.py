"""The admin console's coverage table: who covers what and when, gaps in red."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpline.db import session_scope
from tests.support.web import login
from triage.models import StaffUser

pytestmark = pytest.mark.asyncio


async def test_admin_sees_coverage_and_gaps_in_red(client) -> None:  # noqa: ANN001
    await login(client, "admin.district")
    page = await client.get("/console/admin/coverage")
    assert page.status_code == 200
    html = page.text
    assert 'data-none="1"' in html  # the demo configuration has no gaps
    assert "处接案或值班缺口" not in html
    assert 'data-org="sch-b" data-kind="restricted" data-gap="0"' in html
    assert "陈主任（lead.district）" in html and "上转区级" in html
    assert "法定节假日" in html and "调休上班日" in html  # the roster by kind of day
    assert "/console/admin/coverage" in (await client.get("/console")).text  # in the menu

    async with session_scope() as session:  # the district's lead leaves
        lead = (
            await session.execute(select(StaffUser).where(StaffUser.username == "lead.district"))
        ).scalar_one()
        lead.active = False
    html = (await client.get("/console/admin/coverage")).text
    assert 'data-org="sch-b" data-kind="restricted" data-gap="1"' in html
    assert 'class="gap" data-code="no_taker"' in html and "sch-b（示范区实验小学）" in html
    # ...and every console page of an administrator says so.
    assert "当前配置有 2 处接案或值班缺口" in (await client.get("/console")).text


async def test_only_admins_see_the_coverage_table(client) -> None:  # noqa: ANN001
    for username in ("counsellor.a", "duty.district", "auditor.district"):
        client.cookies.clear()
        await login(client, username)
        assert (await client.get("/console/admin/coverage")).status_code == 403

"""The lean report path (issue 18): a ceiling on SQL statements per report, and the per-process
configuration cache that keeps it low, invalidated when an administrator changes something.

The statement counts are a property of the code (the same on every run), not a timing."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from helpline import configcache
from helpline.db import get_engine, session_scope
from helpline.sqlcount import StatementCounter
from tests.support.web import csrf_from, login
from triage.models import Case

ORDINARY = "班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"
EMERGENCY = "我今晚就从楼顶跳下去"
CEILING = 15  # statements per web report (issue 18); it was 54


async def _report(client, what: str = ORDINARY) -> Case:  # noqa: ANN001
    page = await client.get("/report")
    form = {"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": what}
    answer = await client.post("/report", data=form)
    assert answer.status_code == 200, answer.status_code
    async with session_scope() as s:
        return (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()


async def _post_counted(client, what: str) -> int:  # noqa: ANN001
    page = await client.get("/report")
    form = {"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": what}
    with StatementCounter(get_engine()) as counter:
        answer = await client.post("/report", data=form)
    assert answer.status_code == 200 and "receipt-code" in answer.text
    return counter.count


@pytest.mark.parametrize("what", [ORDINARY, EMERGENCY], ids=["ordinary", "emergency"])
async def test_a_web_report_costs_at_most_the_ceiling_of_statements(client, what) -> None:  # noqa: ANN001
    await _report(client, what)  # first use: the caches load
    count = await _post_counted(client, what)
    assert count <= CEILING, f"{count} SQL statements for one web report (ceiling {CEILING})"
    async with session_scope() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
    assert case.urgency == ("emergency" if what == EMERGENCY else case.urgency)


async def test_the_configuration_is_read_once_not_per_report(client) -> None:  # noqa: ANN001
    await _report(client)
    page = await client.get("/report")
    form = {"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": ORDINARY}
    with StatementCounter(get_engine()) as counter:
        await client.post("/report", data=form)
    read = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    # Only the version stamp: organisations, policies, targets and staff come from the cache.
    assert len(read) == 1 and "config_stamp" in read[0], read


async def test_an_admins_new_targets_reach_the_next_report(client) -> None:  # noqa: ANN001
    before = await _report(client)
    default = before.first_response_due - before.received_at
    await login(client, "admin.district")
    minutes = {"emergency": 3, "high": 20, "medium": 120, "low": 600}
    saved = await client.post(
        "/console/admin/targets",
        data={"csrf_token": csrf_from((await client.get("/console")).text), **minutes},
    )
    assert saved.status_code == 303
    after = await _report(client)
    assert after.urgency == before.urgency
    assert after.first_response_due - after.received_at == timedelta(minutes=minutes[after.urgency])
    assert default != timedelta(minutes=minutes[after.urgency])


async def test_an_admins_new_school_is_on_the_next_report_form(client) -> None:  # noqa: ANN001
    assert "新建实验学校" not in (await client.get("/report")).text
    await login(client, "admin.district")
    added = await client.post(
        "/console/admin/schools",
        data={
            "csrf_token": csrf_from((await client.get("/console")).text),
            "code": "sch-new",
            "name": "新建实验学校",
        },
    )
    assert added.status_code == 303
    assert "新建实验学校" in (await client.get("/report")).text


async def _other_process(sql: list[str]) -> None:
    """Write as another app process would: its own connection, nothing of this process's
    memory (its cache) touched."""
    engine = create_async_engine(os.environ["HELPLINE_DATABASE_URL"], poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for statement in sql:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _set_target(urgency: str, minutes: int) -> str:
    return (
        "INSERT INTO response_targets (urgency, minutes, updated_at) "
        f"VALUES ('{urgency}', {minutes}, CURRENT_TIMESTAMP) "
        "ON CONFLICT (urgency) DO UPDATE SET minutes = excluded.minutes"
    )


async def test_a_change_by_another_process_is_seen_through_the_stamp(client) -> None:  # noqa: ANN001
    first = await _report(client)  # this process has the targets cached now
    # Another process saves a target; its commit bumps the stamp (as the ORM's does).
    await _other_process(
        [_set_target(first.urgency, 9), "UPDATE config_stamp SET version = 12345 WHERE id = 1"]
    )
    seen = await _report(client)
    assert seen.first_response_due - seen.received_at == timedelta(minutes=9)


async def test_without_the_stamp_the_cache_is_what_a_report_reads(client) -> None:  # noqa: ANN001
    """The cache is real: a row changed behind its back (no stamp) is not read again."""
    first = await _report(client)
    await _other_process([_set_target(first.urgency, 13)])
    stale = await _report(client)
    assert stale.first_response_due - stale.received_at == first.first_response_due - (
        first.received_at
    )


async def test_orm_changes_to_watched_tables_bump_the_stamp(db_url) -> None:  # noqa: ANN001
    from triage.models import StaffUser

    async def stamp() -> int:
        async with session_scope() as s:
            return await configcache.stamp(s)

    start = await stamp()
    async with session_scope() as s:  # a sign-in's bookkeeping is not configuration
        await s.execute(update(StaffUser).values(totp_last_step=StaffUser.totp_last_step))
    assert await stamp() == start
    async with session_scope() as s:  # a bulk change of a role is
        await s.execute(
            update(StaffUser).where(StaffUser.username == "counsellor.a").values(role="counsellor")
        )
    changed = await stamp()
    assert changed != start
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == "counsellor.a"))
        ).scalar_one()
        staff.display_name = staff.display_name + "x"  # not watched
    assert await stamp() == changed
    async with session_scope() as s:
        staff = (
            await s.execute(select(StaffUser).where(StaffUser.username == "counsellor.a"))
        ).scalar_one()
        staff.active = not staff.active
    assert await stamp() != changed

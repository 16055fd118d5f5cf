import asyncio

import pytest
from sqlalchemy import select, text

from helpline import audit
from helpline.audit import AuditEvent, verify_chain
from helpline.db import is_sqlite, session_scope


async def _write_events(n: int) -> None:
    async with session_scope() as s:
        for i in range(n):
            await audit.record(s, "staff:1", "case.viewed", "case", i, step=i)


async def _verify():
    async with session_scope() as s:
        return await verify_chain(s)


async def _drop_append_only_triggers(db_url: str) -> None:
    # An attacker with database access would do this first; the chain must still tell.
    async with session_scope() as s:
        if is_sqlite(db_url):
            await s.execute(text("DROP TRIGGER audit_events_no_update"))
            await s.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            await s.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))


async def test_chain_verifies_when_untouched(db_url):
    await _write_events(20)
    result = await _verify()
    assert result.ok and result.checked >= 20


async def test_update_and_delete_are_refused_by_the_database(db_url):
    await _write_events(2)
    with pytest.raises(Exception, match="append-only"):
        async with session_scope() as s:
            await s.execute(text("UPDATE audit_events SET actor = 'x'"))
    with pytest.raises(Exception, match="append-only"):
        async with session_scope() as s:
            await s.execute(text("DELETE FROM audit_events"))


async def test_edited_row_is_caught(db_url):
    await _write_events(10)
    await _drop_append_only_triggers(db_url)
    async with session_scope() as s:
        query = select(AuditEvent).order_by(AuditEvent.id).offset(12).limit(1)
        victim = (await s.execute(query)).scalar_one()
        victim_id = victim.id
        await s.execute(text("UPDATE audit_events SET actor = 'staff:2' WHERE id = :i"),
                        {"i": victim_id})
    result = await _verify()
    assert not result.ok
    assert result.first_bad_id == victim_id


async def test_deleted_row_is_caught(db_url):
    await _write_events(10)
    await _drop_append_only_triggers(db_url)
    async with session_scope() as s:
        ids = (await s.execute(select(AuditEvent.id).order_by(AuditEvent.id))).scalars().all()
        await s.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[5]})
    result = await _verify()
    assert not result.ok and result.first_bad_id == ids[6]


async def test_deleting_the_newest_events_is_caught(db_url):
    await _write_events(5)
    await _drop_append_only_triggers(db_url)
    async with session_scope() as s:
        last = (await s.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()))).scalar()
        await s.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": last})
    assert not (await _verify()).ok


async def test_concurrent_writers_never_fork_the_chain(db_url):
    async def writer(n: int) -> None:
        async with session_scope() as s:
            await audit.record(s, f"staff:{n}", "case.viewed", "case", n)
            await asyncio.sleep(0.01)  # other writers start their transactions meanwhile
            await audit.record(s, f"staff:{n}", "case.changed", "case", n)

    before = (await _verify()).checked
    await asyncio.gather(*(writer(n) for n in range(20)))
    result = await _verify()
    assert result.ok, result.reason
    assert result.checked == before + 40


async def test_rolled_back_events_are_not_chained(db_url):
    before = (await _verify()).checked
    with pytest.raises(RuntimeError):
        async with session_scope() as s:
            await audit.record(s, "staff:1", "case.viewed", "case", 1)
            raise RuntimeError("the unit of work fails")
    await _write_events(1)
    result = await _verify()
    assert result.ok and result.checked == before + 1
    async with session_scope() as s:
        in_chain_order = select(AuditEvent.object_id).order_by(AuditEvent.id)
        actions = (await s.execute(in_chain_order)).scalars().all()
    assert "1" not in actions[before:]  # the failed unit's event was never written


async def test_events_of_a_closed_uncommitted_session_are_dropped(db_url):
    from helpline.db import get_sessionmaker

    before = (await _verify()).checked
    session = get_sessionmaker()()
    await audit.record(session, "staff:1", "case.viewed", "case", 7)
    await session.execute(select(AuditEvent.id).limit(1))  # a transaction is open
    await session.close()  # ends it without a commit
    await audit.record(session, "staff:1", "case.viewed", "case", 8)
    await session.commit()  # the same session object, reused
    await session.close()
    result = await _verify()
    assert result.ok and result.checked == before + 1
    async with session_scope() as s:
        newest = (await s.execute(select(AuditEvent).order_by(AuditEvent.id.desc()))).scalars()
        assert next(iter(newest)).object_id == "8"

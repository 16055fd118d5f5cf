"""Issue 16: the audit chain is keyed (HMAC, key outside the database) and anchored (signed
checkpoints outside the database): rewriting rows and recomputing every later hash and the head
is caught, without the key by the HMAC, with it by the checkpoints."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys

from sqlalchemy import select, text, update

from helpline import audit, audit_anchor
from helpline.audit import AuditEvent, AuditHead, chain_key, event_hash
from helpline.db import session_scope
from helpline.settings import PROJECT_ROOT, get_settings
from tests.helpline.test_audit import _drop_append_only_triggers, _write_events
from tests.support.smtp import SmtpSink


async def _rewrite(from_index: int, key: bytes | None) -> int:
    """Change one event's actor, then recompute every later hash and the head, as an attacker
    with the database (and, with `key`, the key file too) would. Returns the edited id."""
    async with session_scope() as s:
        rows = (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
        victim = rows[from_index]
        prev = victim.prev_hash
        for ev in rows[from_index:]:
            actor = "staff:999" if ev.id == victim.id else ev.actor
            digest = event_hash(
                prev, ev.at, actor, ev.action, ev.object_type, ev.object_id, ev.details, key=key
            )
            await s.execute(
                text("UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h WHERE id = :i"),
                {"a": actor, "p": prev, "h": digest, "i": ev.id},
            )
            prev = digest
        await s.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))
        return victim.id


async def _verify() -> audit_anchor.AnchorResult:
    async with session_scope() as s:
        return await audit_anchor.verify(s)


async def _checkpoint() -> dict | None:
    async with session_scope() as s:
        return await audit_anchor.write_checkpoint(s)


async def test_rewrite_without_the_key_is_caught(db_url: str) -> None:
    await _write_events(10)
    await _drop_append_only_triggers(db_url)
    victim = await _rewrite(3, key=None)  # plain SHA-256, as the chain used to be
    result = await _verify()
    assert not result.ok and result.chain.first_bad_id == victim


async def test_rewrite_with_the_key_is_caught_by_a_checkpoint(db_url: str) -> None:
    await _write_events(10)
    point = await _checkpoint()
    assert point is not None
    await _write_events(5)
    assert (await _verify()).ok
    await _drop_append_only_triggers(db_url)
    await _rewrite(3, key=chain_key())
    result = await _verify()
    assert result.chain.ok  # the keyed chain itself was recomputed consistently ...
    assert not result.ok  # ... but it no longer matches what was signed outside
    assert any("rewritten" in p for p in result.problems)


async def test_a_forged_checkpoint_is_refused(db_url: str) -> None:
    await _write_events(3)
    await _checkpoint()
    path = audit_anchor.audit_dir() / audit_anchor.CHECKPOINTS
    point = json.loads(path.read_text().splitlines()[-1])
    point["hash"] = "0" * 64
    path.write_text(path.read_text() + json.dumps(point) + "\n")
    result = await _verify()
    assert not result.ok and any("signature invalid" in p for p in result.problems)


async def test_files_are_private(db_url: str) -> None:
    await _write_events(1)
    await _checkpoint()
    folder = audit_anchor.audit_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (audit_anchor.CHECKPOINTS, audit_anchor.SIGNING_KEY, audit_anchor.PUBLIC_KEY):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


async def test_an_old_unkeyed_prefix_verifies_and_is_counted(db_url: str) -> None:
    """A database from before the key: its events keep their SHA-256 (the migration set
    keyed_from_id past them); new events are keyed; verify says how many were unkeyed."""
    await _write_events(4)
    await _drop_append_only_triggers(db_url)
    async with session_scope() as s:
        # Every event so far as the old code wrote it (plain SHA-256) ...
        everything = (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
        prev = audit.GENESIS
        for ev in everything:
            digest = event_hash(
                prev, ev.at, ev.actor, ev.action, ev.object_type, ev.object_id, ev.details
            )
            await s.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": ev.id},
            )
            prev = digest
        # ... and the migration's statement.
        await s.execute(
            update(AuditHead).values(last_hash=prev, keyed_from_id=everything[-1].id + 1)
        )
    await _write_events(3)  # after the upgrade: keyed
    result = await _verify()
    assert result.ok and result.chain.unkeyed == len(everything)
    assert result.chain.checked == len(everything) + 3


async def test_verify_command_names_the_rewrite(db_url: str, tmp_path) -> None:  # noqa: ANN001
    await _write_events(6)
    await _checkpoint()
    await _drop_append_only_triggers(db_url)
    await _rewrite(2, key=chain_key())
    env = {**os.environ, "HELPLINE_DATABASE_URL": db_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assembly.cli",
        "audit",
        "verify",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 1, out
    assert b"AUDIT LOG BROKEN" in out and b"rewritten" in out


async def test_checkpoints_are_mailed_to_the_district(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    await _write_events(2)
    with SmtpSink() as sink:
        monkeypatch.setenv("HELPLINE_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("HELPLINE_AUDIT_CHECKPOINT_MAILTO", "anwenban@district.example")
        get_settings.cache_clear()
        point = await _checkpoint()
        assert point is not None
        for _ in range(50):
            if sink.messages:
                break
            await asyncio.sleep(0.05)
    get_settings.cache_clear()
    ((to, message, _),) = sink.messages
    assert to == ["anwenban@district.example"]
    body = message.get_content()
    assert point["sig"] in body and str(point["event_id"]) in message["Subject"]


async def test_events_recorded_after_a_checkpoint_still_verify(db_url: str) -> None:
    await _write_events(2)
    await _checkpoint()
    async with session_scope() as s:
        await audit.record(s, "staff:1", "case.viewed", "case", 1)
    assert await _checkpoint() is not None
    assert (await _verify()).ok

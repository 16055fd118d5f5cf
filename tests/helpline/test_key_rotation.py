"""`helpline keys rotate` on 10,000 messages: all readable after, none under the old key, and a
run killed halfway completes when started again."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from helpline.crypto import get_keyring, reset_keyring
from helpline.db import dispose_engine, session_scope, utcnow
from helpline.settings import PROJECT_ROOT, get_settings, reset_settings
from triage.models import Case, Message, Organisation, Reporter

N_MESSAGES = 10_000


@pytest.fixture
async def own_key_ring(db_url, tmp_path, monkeypatch):
    """A private copy of the key ring, so rotating it does not disturb other tests."""
    shutil.copy(get_settings().effective_key_file, tmp_path / "keys.json")
    os.chmod(tmp_path / "keys.json", 0o600)
    monkeypatch.setenv("HELPLINE_VAR_DIR", str(tmp_path))
    reset_settings()
    reset_keyring()
    yield tmp_path
    monkeypatch.undo()
    reset_settings()
    reset_keyring()


async def _fill(n: int) -> None:
    now = utcnow()
    async with session_scope() as s:
        org = (await s.execute(select(Organisation).limit(1))).scalar_one()
        reporter = Reporter(channel="web", pseudonym="p" * 64, contact="电话13812345678")
        s.add(reporter)
        await s.flush()
        case = Case(org_id=org.id, reporter_id=reporter.id, channel="web", labels=["crisis"],
                    urgency="high", urgency_rank=1, received_at=now, first_response_due=now,
                    last_activity_at=now)
        s.add(case)
        await s.flush()
        s.add_all(Message(case_id=case.id, direction="in", channel="web",
                          text=f"第{i}条消息：我想自杀") for i in range(n))


async def _count_under(key_id: str) -> int:
    async with session_scope() as s:
        return (await s.execute(
            select(func.count()).select_from(Message)
            .where(text("messages.text LIKE :p")).params(p=f"enc1:{key_id}:%")
        )).scalar_one()


def _rotate_cmd() -> list[str]:
    return [sys.executable, "-m", "assembly.cli", "keys", "rotate", "--batch", "20"]


@pytest.mark.slow
async def test_rotation_killed_halfway_completes_on_rerun(own_key_ring, db_url):
    await _fill(N_MESSAGES)
    old_key = get_keyring().current_id
    assert await _count_under(old_key) == N_MESSAGES
    await dispose_engine()

    proc = subprocess.Popen(_rotate_cmd(), cwd=PROJECT_ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = False
    for _ in range(6000):
        await asyncio.sleep(0.01)
        reset_keyring()
        new_key = get_keyring().current_id
        if new_key != old_key and await _count_under(new_key) >= 1000:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        if proc.poll() is not None:
            break
    proc.wait(timeout=60)
    await dispose_engine()
    assert killed, "rotation finished before it could be interrupted; make the batches smaller"
    reset_keyring()
    new_key = get_keyring().current_id
    assert 0 < await _count_under(new_key) < N_MESSAGES  # really interrupted halfway
    await dispose_engine()

    rerun = subprocess.run(_rotate_cmd(), cwd=PROJECT_ROOT, env=os.environ.copy(),
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "resuming" in rerun.stderr
    reset_keyring()
    assert get_keyring().current_id == new_key  # the rerun finished, it did not add a third key
    assert await _count_under(new_key) == N_MESSAGES
    assert await _count_under(old_key) == 0
    async with session_scope() as s:
        texts = (await s.execute(select(Message.text).order_by(Message.id))).scalars().all()
        assert texts[0] == "第0条消息：我想自杀"
        assert texts[-1] == f"第{N_MESSAGES - 1}条消息：我想自杀"
        contact = (await s.execute(select(Reporter.contact).where(Reporter.pseudonym == "p" * 64)))
        assert contact.scalar_one() == "电话13812345678"

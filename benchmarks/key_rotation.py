"""How long `helpline keys rotate` takes per 10,000 encrypted messages.

    .venv/bin/python benchmarks/key_rotation.py --messages 10000 [--database-url URL]

Creates a scratch database (SQLite in a temp dir by default; for PostgreSQL pass the URL of an
empty database), fills it, rotates the key and prints the time and rows per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time


async def main(n: int, url: str | None) -> None:
    tmp = tempfile.mkdtemp()
    os.environ["HELPLINE_VAR_DIR"] = tmp
    os.environ["HELPLINE_DATABASE_URL"] = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    from assembly import dbadmin
    from assembly.keyrotation import reencrypt_all
    from helpline.crypto import get_keyring
    from helpline.db import dispose_engine, get_engine, session_scope, utcnow
    from triage.models import Case, Message, Organisation, Reporter

    await asyncio.to_thread(dbadmin.upgrade)
    now = utcnow()
    async with session_scope() as s:
        org = Organisation(kind="district", code="bench", name="bench")
        reporter = Reporter(channel="web", pseudonym="b" * 64)
        s.add_all([org, reporter])
        await s.flush()
        case = Case(
            org_id=org.id,
            reporter_id=reporter.id,
            channel="web",
            labels=["general"],
            urgency="low",
            urgency_rank=3,
            received_at=now,
            first_response_due=now,
            last_activity_at=now,
        )
        s.add(case)
        await s.flush()
        s.add_all(
            Message(
                case_id=case.id,
                direction="in",
                channel="web",
                text=f"第{i}条：这是一条用于测量的长度适中的中文消息。" * 3,
            )
            for i in range(n)
        )
    ring = get_keyring()
    ring.add_key()
    started = time.perf_counter()
    done = await reencrypt_all(get_engine(), ring, batch=500)
    elapsed = time.perf_counter() - started
    await dispose_engine()
    backend = "postgresql" if url else "sqlite"
    print(f"{backend}: re-encrypted {done} values in {elapsed:.2f} s ({done / elapsed:,.0f}/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.database_url))

"""Render time of the console's queue page with 100,000 cases (PostgreSQL).

    .venv/bin/python benchmarks/queue_page.py [--cases 100000] [--renders 200] \
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432] [--keep]

Creates a scratch PostgreSQL database, migrates it, loads the demo configuration, inserts the
cases in bulk (a realistic mix: 30% open, spread over both schools, all urgencies and
categories, some restricted, some overdue), then renders /console/queue through the real app
(login cookie, session lookup, permission clause, count, page query, template, audit record)
and prints p50/p99 in milliseconds for each view. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["bullying", "abuse", "neglect", "crisis", "fraud", "danger", "general", "sexual_abuse"]
URGENCIES = ["emergency", "high", "medium", "low"]
TARGET_MINUTES = {"emergency": 5, "high": 30, "medium": 240, "low": 1440}
STATUSES = ["new", "claimed", "in_progress", "awaiting_report"]
VIEWS = {
    "counsellor.a (school), default": "/console/queue",
    "duty.district (district), default": "/console/queue",
    "counsellor.a, overdue + category": "/console/queue?overdue=true&category=bullying",
    "duty.district, page 200": "/console/queue?page=200",
}


async def _admin(pg: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _admin_db(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill(n: int) -> None:
    from sqlalchemy import insert, select

    from helpline.db import session_scope, utcnow
    from triage.models import Case, Organisation, Reporter

    rng = random.Random(7)  # noqa: S311 - benchmark data
    now = utcnow()
    async with session_scope() as s:
        orgs = list((await s.execute(select(Organisation.id))).scalars())
        reporters = [Reporter(channel="web", pseudonym=f"bench-{i:06d}") for i in range(2000)]
        s.add_all(reporters)
        await s.flush()
        reporter_ids = [r.id for r in reporters]
    rows = []
    for i in range(n):
        label = rng.choice(LABELS)
        urgency = rng.choice(URGENCIES)
        received = now - timedelta(minutes=rng.randint(0, 60 * 24 * 90))
        open_case = rng.random() < 0.3
        rows.append(
            {
                "org_id": rng.choice(orgs),
                "reporter_id": rng.choice(reporter_ids),
                "channel": "web",
                "status": rng.choice(STATUSES) if open_case else "closed",
                "labels": [label],
                "urgency": urgency,
                "urgency_rank": URGENCIES.index(urgency),
                "risk_level": 0,
                "mandatory": label not in ("fraud", "general", "crisis"),
                "restricted": label == "sexual_abuse",
                "received_at": received,
                "first_response_due": received + timedelta(minutes=TARGET_MINUTES[urgency]),
                "first_response_at": None if rng.random() < 0.5 else received,
                "last_activity_at": received,
                "conversation_state": {},
            }
        )
        if len(rows) == 5000 or i == n - 1:
            async with session_scope() as s:
                await s.execute(insert(Case), rows)
            rows = []


async def _login(client: object, username: str, password: str) -> None:
    import re

    import pyotp
    from sqlalchemy import select

    from helpline.db import session_scope
    from triage.models import StaffUser

    async with session_scope() as s:
        secret = (
            await s.execute(select(StaffUser.totp_secret).where(StaffUser.username == username))
        ).scalar_one()
    page = await client.get("/console/login")  # type: ignore[attr-defined]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(  # type: ignore[attr-defined]
        "/console/login",
        data={
            "username": username,
            "password": password,
            "totp": pyotp.TOTP(secret).now(),
            "csrf_token": token,
        },
    )
    assert r.status_code == 303, r.status_code


async def _measure(renders: int) -> dict[str, tuple[float, float, int]]:
    import httpx

    from assembly import wiring
    from assembly.app import create_app

    wiring.wire_hooks()
    app = create_app()
    results = {}
    for view, url in VIEWS.items():
        username = view.split(" ")[0].rstrip(",")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _login(client, username, "bench-pass-1")
            for _ in range(5):  # warm-up
                await client.get(url)
            times = []
            for _ in range(renders):
                started = time.perf_counter()
                r = await client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.status_code
            total = int(r.text.split("共 ")[1].split(" ")[0])
        times.sort()
        results[view] = (statistics.median(times), times[int(len(times) * 0.99) - 1], total)
    return results


async def main(n: int, renders: int, pg: str, keep: bool) -> None:
    tmp = tempfile.mkdtemp()
    name = f"hl_bench_{uuid.uuid4().hex[:8]}"
    os.environ["HELPLINE_VAR_DIR"] = tmp
    os.environ["HELPLINE_DATABASE_URL"] = f"{pg}/{name}"
    os.environ["HELPLINE_CONFIG_FILE"] = ""
    await _admin(pg, f'CREATE DATABASE "{name}"')
    try:
        from assembly import dbadmin, wiring
        from helpline.db import dispose_engine

        await asyncio.to_thread(dbadmin.upgrade)
        await wiring.load_demo(ROOT / "data" / "demo" / "config.yaml", "bench-pass-1")
        started = time.perf_counter()
        await _fill(n)
        # What autovacuum does soon after a bulk load: statistics and the visibility map.
        await _admin_db(f"{pg}/{name}", "VACUUM ANALYZE cases")
        print(f"inserted {n} cases in {time.perf_counter() - started:.1f} s")
        results = await _measure(renders)
        await dispose_engine()
        print(f"{'view':40} {'cases':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for view, (p50, p99, total) in results.items():
            print(f"{view:40} {total:>7} {p50:8.1f} {p99:8.1f}")
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.renders, args.pg, args.keep))

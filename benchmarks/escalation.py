"""Four workers on PostgreSQL, 10,000 alerts due at once: each sent once; lateness p50/p99.

    .venv/bin/python benchmarks/escalation.py [--alerts 10000] [--workers 4]
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432]
    .venv/bin/python benchmarks/escalation.py --single 50 [--workers 4]

`--single N`: N emergency reports, one at a time, through real intake (NLU included) while the
workers poll; for each, the time from the report's arrival to its first alert at the local
receiver (p50/p99/max).

Creates a scratch PostgreSQL database, migrates it, loads the demo configuration, queues
`--alerts` webhook alerts all due at the same instant (a few seconds ahead, so every worker is
already polling), starts `--workers` processes of `python -m escalation.worker`, and a local
webhook receiver. Lateness is sent_at - due_at of each alert (the delivery log). Prints JSON,
with the CPU seconds the drain cost (from the due instant until the last alert is recorded) in
the workers, in the PostgreSQL processes serving them and in the receiver: the figure that the
machine's load does not inflate as much as wall time (read from /proc; needs the database on
this host).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is benchmarks/ (whose files may shadow the standard library).
sys.path[0] = str(ROOT)


async def _admin(pg: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _prepare(pg: str, alerts: int, url: str, lead_seconds: float) -> float:
    from assembly import dbadmin
    from assembly.wiring import load_demo
    from helpline.db import dispose_engine, session_scope, utcnow
    from tests.support.load import queue_alerts

    await asyncio.to_thread(dbadmin.upgrade)
    await load_demo(ROOT / "data" / "demo" / "config.yaml", "bench-pass-1")
    due = utcnow() + timedelta(seconds=lead_seconds)
    async with session_scope() as session:
        await queue_alerts(session, alerts, url, due)
    await dispose_engine()
    return due.timestamp()


async def _sent() -> int:
    from sqlalchemy import func, select

    from escalation.models import Delivery
    from helpline.db import session_scope

    async with session_scope() as session:
        query = select(func.count()).where(Delivery.state == "sent")
        return int((await session.execute(query)).scalar_one())


async def _lateness() -> tuple[int, list[float], int]:
    from sqlalchemy import select

    from escalation.models import Delivery
    from helpline.db import session_scope

    async with session_scope() as session:
        rows = (
            await session.execute(
                select(Delivery.state, Delivery.due_at, Delivery.sent_at, Delivery.attempts)
            )
        ).all()
    sent = [r for r in rows if r.state == "sent"]
    lateness = [(r.sent_at - r.due_at).total_seconds() for r in sent]
    retried = sum(1 for r in rows if r.attempts > 1)
    return len(sent), lateness, retried


FIRST: dict[int, float] = {}  # alert id -> when the receiver first got it (time.time())


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counts: Counter[int]
) -> None:
    """A minimal HTTP/1.1 keep-alive receiver: counts X-Helpline-Alert-Id; GET /stats,
    GET /first (first arrival time of each alert)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(
                (k.strip().lower(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:])
            )
            await reader.readexactly(int(headers.get("content-length", "0")))
            if lines[0].startswith("GET /stats"):
                body = json.dumps({str(k): v for k, v in counts.items()}).encode()
            elif lines[0].startswith("GET /first"):
                body = json.dumps({str(k): v for k, v in FIRST.items()}).encode()
            else:
                alert = int(headers.get("x-helpline-alert-id", "0"))
                FIRST.setdefault(alert, time.time())
                counts[alert] += 1
                body = b'{"errcode":0}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve_receiver(port: int) -> None:
    counts: Counter[int] = Counter()
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, counts), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


async def _received(url: str) -> Counter[int]:
    import httpx

    async with httpx.AsyncClient() as client:
        answer = await client.get(url.replace("/hook", "/stats"))
    return Counter({int(k): v for k, v in answer.json().items()})


async def main(alerts: int, workers: int, pg: str) -> dict[str, object]:
    from tests.support.processes import free_port

    name = f"hl_bench_{uuid.uuid4().hex[:8]}"
    await _admin(pg, f'CREATE DATABASE "{name}"')
    tmp = tempfile.mkdtemp()
    os.environ.update(
        HELPLINE_VAR_DIR=tmp,
        HELPLINE_CONFIG_FILE="",
        HELPLINE_DATABASE_URL=f"{pg}/{name}",
        HELPLINE_LOG_LEVEL="WARNING",
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        procs.append(_spawn([__file__, "--receiver", str(port)]))
        due = await _prepare(pg, alerts, url, lead_seconds=15.0)
        procs += [_spawn(["-m", "escalation.worker"]) for _ in range(workers)]
        await asyncio.sleep(max(0.0, due - time.time() - 0.2))
        # CPU from here on is the drain's: the workers' start (imports) is not counted.
        backends = await _backends(pg, name)
        before = _cpu(procs) | _cpu(backends)
        while True:
            if await _sent() >= alerts or time.time() > due + 900:
                break
            await asyncio.sleep(0.1)
        finished = time.time()
        backends = await _backends(pg, name)
        after = _cpu(procs) | _cpu(backends)
        spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        cpu = sum(spent[p.pid] for p in procs[1:])
        receiver_cpu = spent[procs[0].pid]
        postgres_cpu = sum(spent[pid] for pid in backends)
        sent, lateness, retried = await _lateness()
        counts = await _received(url)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        from helpline.db import dispose_engine

        await dispose_engine()
        await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "alerts": alerts,
        "workers": workers,
        "sent": sent,
        "received_distinct": len(counts),
        "received_twice_or_more": sum(1 for n in counts.values() if n > 1),
        "retried": retried,
        "lateness_p50_s": round(_percentile(lateness, 0.50), 3),
        "lateness_p99_s": round(_percentile(lateness, 0.99), 3),
        "lateness_max_s": round(max(lateness), 3),
        "all_sent_after_s": round(finished - due, 1),
        "workers_cpu_s": round(cpu, 1),
        "postgres_cpu_s": round(postgres_cpu, 1),
        "receiver_cpu_s": round(receiver_cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


async def _backends(pg: str, name: str) -> list[int]:
    """The PostgreSQL server processes serving the scratch database (the workers' pools)."""
    import asyncpg

    conn = await asyncpg.connect(pg.replace("+asyncpg", "") + "/postgres")
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def _cpu(pids: list[subprocess.Popen[bytes]] | list[int]) -> dict[int, float]:
    found = {}
    for item in pids:
        pid = item if isinstance(item, int) else item.pid
        try:
            found[pid] = _cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass  # a backend that ended meanwhile
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a figure the machine's load
    does not inflate as much as wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _single(reports: int, workers: int, pg: str) -> dict[str, object]:
    """Report to first alert at a local receiver, one emergency report at a time."""
    from sqlalchemy import select

    from assembly import dbadmin, wiring
    from assembly.wiring import load_demo
    from escalation import config_import
    from escalation.models import Delivery
    from helpline.db import dispose_engine, session_scope, utcnow
    from tests.support.processes import free_port
    from triage.intake import Intake, receive

    name = f"hl_bench_{uuid.uuid4().hex[:8]}"
    await _admin(pg, f'CREATE DATABASE "{name}"')
    tmp = tempfile.mkdtemp()
    os.environ.update(
        HELPLINE_VAR_DIR=tmp,
        HELPLINE_CONFIG_FILE="",  # no settings file (a named missing one is an error)
        HELPLINE_DATABASE_URL=f"{pg}/{name}",
        HELPLINE_LOG_LEVEL="WARNING",
        HELPLINE_MODEL_DIR=str(ROOT / "var" / "models"),
    )
    procs: list[subprocess.Popen[bytes]] = []
    latencies: list[float] = []
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        procs.append(_spawn([__file__, "--receiver", str(port)]))
        await asyncio.to_thread(dbadmin.upgrade)
        await load_demo(ROOT / "data" / "demo" / "config.yaml", "bench-pass-1")
        wiring.wire_hooks()
        async with session_scope() as session:
            await config_import.add_channel(
                session, {"org": "sch-a", "name": "bench", "kind": "webhook", "url": url}
            )
            await config_import.add_policy(
                session,
                {
                    "org": "sch-a",
                    "name": "bench",
                    "urgencies": ["emergency"],
                    "steps": [{"notify": "group", "group": "bench", "wait_minutes": 5}],
                },
            )
        procs += [_spawn(["-m", "escalation.worker"]) for _ in range(workers)]
        await asyncio.sleep(5)  # the workers are polling
        import httpx

        async with httpx.AsyncClient() as client:
            for n in range(reports + 1):
                start = time.time()
                async with session_scope() as session:
                    got = await receive(
                        session,
                        Intake(
                            channel="web",
                            reporter_ref=f"bench-{n}",
                            text="我现在站在学校楼顶，马上就跳下去",
                            org_code="sch-a",
                            received_at=utcnow(),
                            new_case=True,
                        ),
                    )
                    case_id = got.case.id
                for _ in range(500):  # at most ~10 s
                    async with session_scope() as session:
                        query = select(Delivery.id).where(Delivery.case_id == case_id)
                        ids = list((await session.execute(query)).scalars())
                    first = (await client.get(url.replace("/hook", "/first"))).json()
                    arrived = [first[str(i)] for i in ids if str(i) in first]
                    if arrived:
                        break
                    await asyncio.sleep(0.02)
                if n and arrived:  # the first report warms the NLU model up: not counted
                    latencies.append(min(arrived) - start)
                await asyncio.sleep(0.3)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await dispose_engine()
        await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "reports": reports,
        "workers": workers,
        "alerted": len(latencies),
        "report_to_alert_p50_s": round(_percentile(latencies, 0.50), 3),
        "report_to_alert_p99_s": round(_percentile(latencies, 0.99), 3),
        "report_to_alert_max_s": round(max(latencies), 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--single", type=int, help="report-to-first-alert latency, N reports")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(serve_receiver(args.receiver))
    elif args.single:
        print(json.dumps(asyncio.run(_single(args.single, args.workers, args.pg)), indent=2))
    else:
        print(json.dumps(asyncio.run(main(args.alerts, args.workers, args.pg)), indent=2))

"""Web reports against a real `helpline serve`, the load generator in its own process.

    .venv/bin/python benchmarks/web_load.py [--database sqlite|postgresql] [--workers 1]
        [--clients 50] [--reports 3000] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432]

Builds a scratch database (a SQLite file in a temp dir, or a new PostgreSQL database that is
dropped at the end), migrates it and loads the demo configuration with the real command line,
starts `helpline serve --workers N` on a free port (N web processes; with N > 1 the escalation
worker runs in a process of its own, else inside the web process, as in production), waits for
/healthz, then runs `--clients` concurrent reporters in THIS process, each with its own cookie
and form token, posting ordinary bullying reports (each carries a marker) until `--reports`
are sent. E-mail alerts go to a local SMTP receiver (aiosmtpd, in this process) so that the
escalation worker delivers them as in production: with no mail server, every alert would fail
and be retried for as long as its chain lives (issue 13), and the service's CPU would measure
that retry storm, not the reports. Afterwards it checks, through the service's own code and
keys, that every report is stored exactly once, and prints JSON: reports/s, latency p50/p99/max,
errors, the alert e-mails received, the load average before and after, and the resident memory
of each server process at the end.

The per-address limit of web reports (data/bot/limits.yaml, 30 per 10 minutes) would stop one
load generator at once: the run uses a copy of data/ with that one limit lifted.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402

from tests.support.processes import free_port  # noqa: E402
from tests.support.smtp import SmtpSink  # noqa: E402

TEXT = "编号{marker}：班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"
MARKER = re.compile(r"编号([LW]\d+)：")
HELPLINE = str(ROOT / ".venv" / "bin" / "helpline")


def scratch_env(tmp: Path, url: str) -> dict[str, str]:
    """The environment of a service on a scratch database, with the web limit lifted."""
    import yaml

    data = tmp / "data"
    shutil.copytree(ROOT / "data", data)
    limits_path = data / "bot" / "limits.yaml"
    limits = yaml.safe_load(limits_path.read_text(encoding="utf-8"))
    limits["web_reports"] = {"limit": 10**9, "window_seconds": 600}
    limits_path.write_text(yaml.safe_dump(limits, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        HELPLINE_VAR_DIR=str(tmp / "var"),
        HELPLINE_DATA_DIR=str(data),
        HELPLINE_CONFIG_FILE="",
        HELPLINE_DATABASE_URL=url,
        HELPLINE_MODEL_DIR=os.environ.get("HELPLINE_MODEL_DIR", str(ROOT / "var" / "models")),
        HELPLINE_LOG_LEVEL="WARNING",
        HELPLINE_PUBLIC_URL="http://127.0.0.1",
    )
    env.pop("HELPLINE_TELEGRAM_TOKEN", None)
    return env


def prepare(env: dict[str, str]) -> None:
    subprocess.run([HELPLINE, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [HELPLINE, "demo", "load", "--password", "bench-pass-1"],
        env=env,
        check=True,
        capture_output=True,
    )


def start_server(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [HELPLINE, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


async def wait_healthy(base: str, seconds: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    page = await client.get("/report")
                    if page.status_code == 200:
                        return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the service did not come up")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """The server process and all its descendants."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += tree(int(child))
    return found


def command_of(pid: int) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "assembly.background" in raw:
        return "background (escalation worker)"
    if "multiprocessing" in raw:
        return "web worker"
    return "helpline serve"


async def load(
    base: str, clients: int, total: int, prefix: str = "L"
) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def reporter(i: int) -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            page = await client.get("/report")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            for n in counter:
                form = {
                    "csrf_token": csrf.group(1),
                    "reporter_kind": "student",
                    "what": TEXT.format(marker=f"{prefix}{n}"),
                }
                started = time.perf_counter()
                try:
                    answer = await client.post("/report", data=form)
                    ok = answer.status_code == 200 and "receipt-code" in answer.text
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

    started = time.monotonic()
    await asyncio.gather(*(reporter(i) for i in range(clients)))
    return latencies, errors, time.monotonic() - started


async def settled(count: Callable[[], int], quiet: float = 5.0, limit: float = 180.0) -> float:
    """Seconds until `count` stops growing for `quiet` seconds (at most `limit`)."""
    started = last_change = time.monotonic()
    seen = count()
    while time.monotonic() - last_change < quiet and time.monotonic() - started < limit:
        await asyncio.sleep(0.2)
        if count() != seen:
            seen, last_change = count(), time.monotonic()
    return round(last_change - started, 1)


async def stored_markers(env: dict[str, str]) -> dict[str, int]:
    """Every report's marker as stored (decrypted with the service's own key file)."""
    os.environ.update(env)
    from sqlalchemy import select

    from helpline.db import dispose_engine, session_scope
    from helpline.settings import reset_settings
    from triage.models import Message

    reset_settings()
    counts: dict[str, int] = {}
    async with session_scope() as s:
        rows = await s.execute(select(Message.text).where(Message.direction == "in"))
        for (text,) in rows:
            found = MARKER.match(text or "")
            if found:
                counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    await dispose_engine()
    return counts


async def admin_sql(pg: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def database_bytes(pg: str, name: str | None) -> int | None:
    """The PostgreSQL database's size on disk (tables, indexes, TOAST)."""
    if name is None:
        return None
    import asyncpg

    conn = await asyncpg.connect(pg.replace("+asyncpg", "") + f"/{name}")
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="hl-load-"))
    name = None
    if args.database == "postgresql":
        name = f"hl_load_{uuid.uuid4().hex[:10]}"
        await admin_sql(args.pg, f'CREATE DATABASE "{name}"')
        url = f"{args.pg}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp}/load.db"
    env = scratch_env(tmp, url)
    smtp = SmtpSink().__enter__()
    env.update(HELPLINE_SMTP_HOST="127.0.0.1", HELPLINE_SMTP_PORT=str(smtp.port))
    server = None
    try:
        await asyncio.to_thread(prepare, env)
        size_before = await database_bytes(args.pg, name)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(env, port, args.workers, tmp / "server.log")
        try:
            await wait_healthy(base)
        except RuntimeError:
            print((tmp / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        await load(base, min(args.clients, 10), 20, "W")  # warm-up (models, caches), not counted
        load_before = os.getloadavg()
        processes = tree(server.pid)
        cpu_before, own_before = cpu_seconds(processes), time.process_time()
        latencies, errors, seconds = await load(base, args.clients, args.reports)
        cpu_used, own_used = cpu_seconds(processes) - cpu_before, time.process_time() - own_before
        load_after = os.getloadavg()
        emails_at_end = len(smtp.messages)
        alerts_settled = await settled(lambda: len(smtp.messages))
        memory = {f"{command_of(p)} {p}": rss_mib(p) for p in tree(server.pid)}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        smtp.__exit__(None, None, None)
    size_after = await database_bytes(args.pg, name)
    markers = {m: c for m, c in (await stored_markers(env)).items() if m.startswith("L")}
    expected = {f"L{n}" for n in range(args.reports)}
    lat = sorted(latencies)
    result = {
        "database": args.database,
        "web_processes": args.workers,
        "clients": args.clients,
        "reports": len(latencies),
        "seconds": round(seconds, 2),
        "reports_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "errors": errors,
        # CPU the service's processes used per report (the database server's not counted):
        # on a loaded machine this, not the wall clock, says what the code costs.
        "service_cpu_ms_per_report": round(cpu_used * 1000 / max(len(latencies), 1), 1),
        "load_generator_cpu_ms_per_report": round(own_used * 1000 / max(len(latencies), 1), 1),
        "stored": sum(markers.values()),
        "stored_twice": sum(1 for c in markers.values() if c > 1),
        "missing": len(expected - set(markers)),
        # The escalation worker shares the service's CPU with the burst: how many alert e-mails
        # were out when the last report was answered, and how long the rest took afterwards.
        "alert_emails_at_end_of_load": emails_at_end,
        "alert_emails_received": len(smtp.messages),
        "alert_emails_settled_seconds_after_load": alerts_settled,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "rss_mib": memory,
    }
    if size_before is not None and size_after is not None:
        # Each report is a case with its message, reports, timers, escalation, audit events
        # and (the worker running) its alerts; the warm-up's 20 are counted too.
        cases = len(latencies) + 20
        result["database_mib_per_100000_cases"] = round(
            (size_after - size_before) / cases * 100_000 / 2**20
        )
    if name is not None:
        await admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2, ensure_ascii=False))

"""PostgreSQL really restarted mid-chain (issue 13): stopped with `pg_ctl -m immediate` (a
crash: no checkpoint, every connection cut) while an emergency's alerts are being retried, and
started again. The first alert arrives within 60 s of the database's return, once, and nothing
ends silently.

The shared PostgreSQL other people use is never touched: the test starts its own throwaway
cluster (initdb + pg_ctl on a free port in a temporary directory), whatever HELPLINE_TEST_DB
says. It is skipped only when the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from escalation.worker import Worker
from helpline.db import dispose_engine
from tests.escalation.support import (
    RECOVERY_LIMIT,
    Clock,
    alert_ids,
    chain_of,
    deliveries,
    drive,
    emergency_case,
    free_port,
    overdue_timers,
)
from tests.support.seed import migrate_and_seed
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.asyncio


def _server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


BIN = _server_bin()


class Cluster:
    """A private PostgreSQL cluster in a temporary directory (trust auth, 127.0.0.1 only)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="hl-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = free_port()
        # initdb refuses to run as root: the cluster then belongs to the postgres user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, capture_output=True, timeout=180, cwd=self.dir
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=40 -c shared_buffers=16MB"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "120", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg(mail: SmtpSink) -> Iterator[Cluster]:
    """Its own cluster, migrated and loaded with the demo configuration, as the database."""
    if BIN is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = Cluster(BIN)
    try:
        cluster.init()
        cluster.start()
        migrate_and_seed(cluster.url)  # also makes it HELPLINE_DATABASE_URL
        yield cluster
    finally:
        cluster.remove()


async def test_postgres_restarted_mid_chain(
    mail: SmtpSink, private_pg: Cluster, clock: Clock
) -> None:
    await dispose_engine()
    outage_end = clock() + timedelta(minutes=5)
    mail.refuse_while = lambda: clock() < outage_end  # the chain is retrying: mid-chain
    case_id = await emergency_case(clock())
    worker = Worker(clock)
    await worker.drain()
    assert (await chain_of(case_id)).state == "incident"  # nobody reached yet, and it says so
    await drive(worker, clock, outage_end - timedelta(minutes=1), lambda: False)
    retries_before = mail.attempts

    private_pg.stop("immediate")  # a crash: no checkpoint, connections cut
    # E-mail recovers while the database is away; the worker keeps failing and keeps going.
    await drive(worker, clock, outage_end + timedelta(seconds=30), lambda: False)
    assert not mail.messages  # nothing can be claimed without the database
    started = time.monotonic()
    private_pg.start()
    back_at = clock()
    first = await drive(worker, clock, back_at + timedelta(minutes=2), lambda: bool(mail.messages))
    assert first is not None, "no alert after the database came back"
    assert first - back_at <= RECOVERY_LIMIT
    assert time.monotonic() - started < RECOVERY_LIMIT.total_seconds()
    assert mail.attempts > retries_before

    # The chain goes on to its end; nothing is lost, repeated unmarked, or left hanging.
    await drive(worker, clock, clock() + timedelta(minutes=15), lambda: False)
    rows = await deliveries(case_id)
    assert rows and all(d.state == "sent" for d in rows)
    ids = alert_ids(mail)
    assert sorted(set(ids)) == sorted(d.id for d in rows)
    first_id = ids[0]  # the first alert after the return: once, or a resend marked as such
    assert ids.count(first_id) == 1 or next(d for d in rows if d.id == first_id).possible_duplicate
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert all(d.possible_duplicate for d in rows if d.id in duplicates)
    chain = await chain_of(case_id)
    assert chain.incident_since is None and chain.state in ("active", "exhausted")
    overdue = await overdue_timers(clock())
    assert overdue == 0
    await dispose_engine()

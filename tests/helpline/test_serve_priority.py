"""`helpline serve --workers N`: the web processes run below the background process (the
escalation worker) in the CPU's priority, so that a burst of reports cannot starve the alerts
(docs/performance.md, "Alerts under a burst")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import free_port, wait_healthy

HELPLINE = str(Path(sys.executable).parent / "helpline")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found


def _nice(pid: int) -> int:
    # /proc/<pid>/stat: the 19th field is the nice value (after the command in parentheses).
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


async def test_web_processes_yield_the_cpu_to_the_escalation_worker(db_url: str) -> None:
    port = free_port()
    env = dict(os.environ, HELPLINE_WEB_NICE="7", HELPLINE_LOG_LEVEL="WARNING")
    server = subprocess.Popen(  # noqa: S603 - the project's own command
        [HELPLINE, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", server)
        own = _nice(server.pid)
        processes = {pid: _cmdline(pid) for pid in _children(server.pid)}
        background = [pid for pid, cmd in processes.items() if "assembly.background" in cmd]
        web = [pid for pid, cmd in processes.items() if "multiprocessing.spawn" in cmd]
        assert len(background) == 1, processes
        assert _nice(background[0]) == own
        assert len(web) == 2, processes
        assert {_nice(pid) for pid in web} == {min(own + 7, 19)}
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

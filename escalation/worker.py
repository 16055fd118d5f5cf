"""The worker loop: claims due timers and runs them; several may share the table.

On PostgreSQL each claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so any number of workers
(`helpline worker`, or `python -m escalation.worker`) take disjoint batches. A claimed timer
carries a lease: if its worker dies, another takes it over when the lease runs out. Steps,
deadlines and re-alerts run in one transaction each (a crash rolls them back: idempotent).
A delivery is marked `sending` and committed BEFORE the network call; a worker that finds a
delivery still `sending` after a crash sends it again and marks it `possible_duplicate`
(at-least-once, and the duplicate is marked).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from escalation import delivery, health, notifier, notifiers, timers
from escalation.config import settings
from escalation.models import Timer
from helpline.db import session_scope, utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


Claimed = delivery.Claimed


class Worker:
    """Runs due timers. `clock` is injectable so tests move time instead of sleeping."""

    def __init__(
        self,
        clock: Clock = utcnow,
        *,
        batch: int | None = None,
        concurrency: int | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        conf = settings()["worker"]
        self.clock = clock
        self.batch = batch or int(conf["batch"])
        self.lease = timedelta(seconds=lease_seconds or float(conf["lease_seconds"]))
        self.poll = poll_seconds if poll_seconds is not None else float(conf["poll_seconds"])
        self.concurrency = concurrency or int(conf["concurrency"])
        self._lanes: notifiers.HttpLanes | None = None  # kept over back-to-back batches

    async def claim(self) -> tuple[list[Claimed], list[delivery.Job]]:
        """Take a batch of due timers (and timers whose worker's lease ran out).

        Deliveries are prepared in the same transaction, so that `sending` is committed
        before anything goes out.
        """
        async with session_scope() as session:
            now = self.clock()
            found = await delivery.claim(session, now, self.lease, self.batch)
            sends = [t for t in found if t.kind == timers.TimerKind.deliver]
            jobs = await delivery.prepare(session, sends, now)
            return [t for t in found if t.kind != timers.TimerKind.deliver], jobs

    async def run_once(self) -> int:
        """Claim and run one batch; returns how many timers it took."""
        others, jobs = await self.claim()
        if not others and not jobs:
            self.close()  # out of work: no connection is kept idle
            return 0
        if self._lanes is None:
            self._lanes = notifiers.HttpLanes(self.concurrency)
        work: deque[Callable[[], Awaitable[object]]] = deque(
            [
                *(partial(self._guarded, item) for item in others),
                *(partial(delivery.run_job, job, self.clock) for job in jobs),
            ]
        )

        async def lane() -> None:
            # `concurrency` of these take the batch's work in turn: a task per lane, not per
            # alert (a task and a semaphore per alert were a tenth of a worker's CPU).
            while work:
                await work.popleft()()

        with notifiers.using(self._lanes):
            await asyncio.gather(*(lane() for _ in range(min(self.concurrency, len(work)))))
        await delivery.record(jobs, self.clock)
        return len(others) + len(jobs)

    def close(self) -> None:
        """Close the kept HTTP connections (when idle, and when the worker stops)."""
        if self._lanes is not None:
            self._lanes.close()
            self._lanes = None

    async def drain(self, max_batches: int = 1000) -> int:
        """Run batches until nothing is due (tests and `--once`)."""
        total = 0
        try:
            for _ in range(max_batches):
                ran = await self.run_once()
                total += ran
                if not ran:
                    break
        finally:
            self.close()
        return total

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll until `stop` is set; a failing batch is logged and retried, never fatal."""
        stop = stop or asyncio.Event()
        beat = Heartbeat()
        # Import every notifier and build the TLS context now, not during the first batch.
        notifier.kinds()
        notifiers.tls_context()
        try:
            while not stop.is_set():
                await beat.maybe()
                try:
                    ran = await self.run_once()
                    wait = await self._idle_wait() if not ran else 0.0
                except Exception as exc:  # the database may be briefly away: keep looping
                    log.error("worker batch failed", extra={"error": type(exc).__name__})
                    ran, wait = 0, self.poll
                    self.close()
                if not ran:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=wait)
                    except TimeoutError:
                        pass
        finally:
            self.close()

    async def _idle_wait(self) -> float:
        """Seconds to sleep when nothing was due: until the next timer is due (so that alerts
        due at one instant are claimed at that instant, not up to a poll later), at most a
        poll (a timer may be added meanwhile)."""
        async with session_scope() as session:
            due = await timers.next_due(session)
        if due is None:
            return self.poll
        # Due already but not ours: another worker holds it while it claims. Look again soon.
        return min(self.poll, max(0.02, (due - self.clock()).total_seconds()))

    async def _guarded(self, item: Claimed) -> None:
        try:
            await self._run(item)
        except Exception as exc:  # left running: its lease runs out and it is retried
            log.error("timer failed", extra={"timer_id": item.id, "error": type(exc).__name__})

    async def _run(self, item: Claimed) -> None:
        async with session_scope() as session:
            timer = await session.get(Timer, item.id, with_for_update=True)
            if timer is None or timer.state != timers.TimerState.running or timer.runs != item.runs:
                return  # taken over by another worker after our lease ran out
            now = self.clock()
            run = timers.handler_for(item.kind)  # step, reack, deadline (escalation/timers.py)
            if run is not None:
                await run(session, timer, now)
            timer.state, timer.done_at = timers.TimerState.done, now


class Heartbeat:
    """This worker's row in worker_heartbeats (read by /readyz), written every few seconds."""

    def __init__(self) -> None:
        self.name, self.started = health.new_worker_name(), utcnow()
        self.every = float(settings()["health"]["heartbeat_seconds"])
        self.last = 0.0

    async def maybe(self) -> None:
        now = time.monotonic()
        if self.last and now - self.last < self.every:
            return
        self.last = now
        try:
            await health.heartbeat(self.name, self.started)
        except Exception as exc:  # the database may be away: /readyz will say so
            log.warning("worker heartbeat failed", extra={"error": type(exc).__name__})


async def serve_forever(lease_seconds: float | None = None) -> None:
    """One worker until SIGTERM/SIGINT (`helpline worker`, `python -m escalation.worker`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("escalation worker started")
    try:
        await Worker(lease_seconds=lease_seconds).run(stop)
    finally:
        from helpline.db import dispose_engine

        await dispose_engine()


async def background_service() -> None:
    """The worker that runs inside `helpline serve`."""
    await Worker().run()


def main(lease_seconds: float | None = None) -> None:
    from helpline.logs import configure_logging
    from helpline.settings import get_settings

    configure_logging(get_settings().log_level)
    asyncio.run(serve_forever(lease_seconds))


if __name__ == "__main__":
    import sys

    main(float(sys.argv[1]) if len(sys.argv) > 1 else None)

"""The background services (escalation worker, Telegram poller, audit checkpoints) in a process
of their own: `helpline serve --workers N` runs this once beside its N web processes.

    python -m assembly.background
"""

from __future__ import annotations

import asyncio
import contextlib
import signal


async def run() -> None:
    from assembly import wiring
    from helpline.db import dispose_engine

    wiring.wire_hooks()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(start()) for start in wiring.background_services()]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dispose_engine()


def main() -> None:
    from helpline.files import restrict_process
    from helpline.logs import configure_logging
    from helpline.settings import get_settings

    restrict_process()
    configure_logging(get_settings().log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()

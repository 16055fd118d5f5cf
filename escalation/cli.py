"""`helpline worker`: run escalation workers (start several for more throughput)."""

from __future__ import annotations

import typer


def worker(
    lease_seconds: float = typer.Option(
        None, help="take over a dead worker's timers after this many seconds"
    ),
    once: bool = typer.Option(False, help="run what is due now, then exit"),
) -> None:
    """Run the escalation worker: due steps, alerts, re-alerts and missed deadlines."""
    import asyncio

    from escalation import worker as loop

    if once:
        from escalation.worker import Worker
        from helpline.db import dispose_engine

        async def drain() -> int:
            try:
                return await Worker(lease_seconds=lease_seconds).drain()
            finally:
                await dispose_engine()

        typer.echo(f"ran {asyncio.run(drain())} timers")
        return
    loop.main(lease_seconds)

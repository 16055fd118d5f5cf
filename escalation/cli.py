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


alerts_app = typer.Typer(
    help="Alert channels: test a person's channels, check reachability.", no_args_is_help=True
)


@alerts_app.command("check")
def alerts_check() -> None:
    """Check that every configured channel answers (what `helpline serve` checks at start)."""
    import asyncio

    from escalation.channel_check import channel_problems
    from helpline.db import dispose_engine

    async def run() -> list[str]:
        try:
            return await channel_problems()
        finally:
            await dispose_engine()

    problems = asyncio.run(run())
    for problem in problems:
        typer.echo(f"WARNING: {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo("every configured alert channel answers")

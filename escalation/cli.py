"""`helpline worker`: run escalation workers (start several for more throughput)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from helpline.datafiles import section_text

_said = section_text("escalation", "joining")  # data/escalation/texts.yaml


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


@alerts_app.command("test")
def alerts_test(
    staff: str = typer.Option(..., "--staff", help="the user name of the staff member"),
) -> None:
    """Send a test alert (marked as a test, no case) to every address of one person and print
    the result per channel; exit 1 when a channel failed or nothing was delivered."""
    import asyncio

    from escalation import trial_alert
    from helpline.db import dispose_engine, session_scope

    async def run() -> list[trial_alert.ChannelResult]:
        try:
            async with session_scope() as session:
                person = await trial_alert.staff_named(session, staff)
                return await trial_alert.send_trial(session, person, "cli")
        finally:
            await dispose_engine()

    try:
        results = asyncio.run(run())
    except trial_alert.UnknownStaff:
        typer.echo(f"no staff member with the user name {staff!r}", err=True)
        raise typer.Exit(2) from None
    for result in results:
        typer.echo(f"{result.kind:10} {result.outcome:15} {result.words()}")
    delivered = [r for r in results if r.outcome == trial_alert.TrialOutcome.delivered]
    if not delivered or any(r.outcome == trial_alert.TrialOutcome.failed for r in results):
        raise typer.Exit(1)


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


def check_report(path: Path) -> tuple[int, dict[str, Any], list[str]]:
    """`helpline config check`: (exit code, the JSON answer, the lines to print).

    Exit 2 when the file cannot be read as a configuration (one line naming file and line),
    1 when it has gaps, 0 when every case has someone who may take it and someone to alert.
    """
    from escalation import configfile, coverage

    try:
        parsed = configfile.read(path)
    except configfile.ConfigFileError as exc:
        answer = {
            "config": str(path),
            "ok": False,
            "error": {"file": exc.path, "line": exc.line, "message": exc.message},
        }
        return 2, answer, [str(exc)]
    setup = coverage.from_file(parsed)
    return _verdict(setup, str(path))


async def check_database() -> tuple[int, dict[str, Any], list[str]]:
    """The same check of the configuration the database holds (for `helpline serve`)."""
    from escalation import coverage
    from helpline.db import session_scope

    async with session_scope() as session:
        setup = await coverage.from_db(session)
    return _verdict(setup, setup.source)


def _verdict(setup: Any, source: str) -> tuple[int, dict[str, Any], list[str]]:
    from escalation import coverage

    gaps = coverage.check(setup)
    rows = coverage.table(setup) if setup.district() else []
    answer = {
        "config": source,
        "ok": not gaps,
        "gaps": [gap.as_dict() for gap in gaps],
        "coverage": [
            {
                "org": r.org,
                "kind": r.kind,
                "takers": [p.username for p in r.local],
                "district_takers": [p.username for p in r.upper],
                "routed_up": r.routed_up,
                "gap": r.gap,
            }
            for r in rows
        ],
    }
    if not gaps:
        return 0, answer, [_said("check_no_gaps", source=source)]
    lines = [_said("check_gaps", source=source, count=len(gaps))]
    lines += [f"- [{gap.code}] {gap.message}" for gap in gaps]
    return 1, answer, lines


def config_check(
    config: Path = typer.Option(None, help="configuration YAML (default data/demo/config.yaml)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable answer on stdout"),
) -> None:
    """Check a configuration before it is loaded: who may take each kind of case, who is on
    duty and reachable at every moment (holidays and 调休 included); exit 1 on a gap."""
    import json

    from helpline.settings import get_settings

    path = config or get_settings().data_dir / "demo" / "config.yaml"
    code, answer, lines = check_report(path)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        if code == 2:
            typer.echo(lines[0], err=True)
    else:
        typer.echo("\n".join(lines), err=code == 2)
    raise typer.Exit(code)


def config_export(
    out: Path = typer.Option(
        None, "--out", help="file to write (in an existing folder; default: standard output)"
    ),
) -> None:
    """Write the configuration in force (as edited in the console) as YAML in the format of
    data/demo/config.yaml; `helpline demo load --config FILE` loads it back. It holds alert
    addresses: the file is created readable by its owner only."""
    import asyncio
    import os

    from escalation.export import dump, export_config
    from helpline.clierrors import CommandError
    from helpline.db import dispose_engine, session_scope

    if out is not None and not out.parent.is_dir():
        # Creating it could put a folder at the root of the file system on a typo.
        raise CommandError(
            f"the folder {out.parent} does not exist", "create it first, or name another --out"
        )

    async def run() -> str:
        try:
            async with session_scope() as session:
                return dump(await export_config(session))
        except LookupError:
            raise CommandError(
                "the database holds no configuration (no district)",
                "load one first: helpline demo load --config FILE",
            ) from None
        finally:
            await dispose_engine()

    text = asyncio.run(run())
    if out is None:
        typer.echo(text, nl=False)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    typer.echo(str(out), err=True)

"""The `helpline` command line: the kernel's commands (config, db, keys, audit, demo, serve) and
the commands each package's plugin contributes."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from helpline.files import restrict_process
from helpline.settings import get_settings

app = typer.Typer(
    help="Student help line: service, database, keys, audit, NLU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo configuration and data.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
console = Console(stderr=True)
# click's UsageError as typer raises it (newer typer releases carry their own copy of click),
# reached through typer's public BadParameter, which derives from it.
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


@demo_app.callback()
def _demo_group() -> None:
    # Generated cases go through intake, whose hooks open their statutory reports and
    # escalation chains: the higher packages' handlers must be hung before any demo command.
    from assembly.wiring import wire_hooks

    wire_hooks()


def _mount_optional() -> None:
    """The commands the packages contribute through their plugins, at the top or in one of the
    assembly's groups; nlu (below the plugins) is mounted here as a group of its own."""
    from assembly.wiring import cli_commands
    from nlu.cli import app as nlu_app

    app.add_typer(nlu_app, name="nlu", help="Chinese message understanding.")
    groups = {"": app, "config": config_app, "demo": demo_app, "nlu": nlu_app}
    for name, command, group in cli_commands():
        if isinstance(command, typer.Typer):
            groups[group].add_typer(command, name=name)
        else:
            groups[group].command(name)(command)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings, secrets masked."""
    typer.echo(json.dumps(get_settings().masked(), indent=2, ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the database migrations."""
    from assembly import dbadmin

    dbadmin.upgrade(revision=revision)
    typer.echo("database is up to date")


@keys_app.command("rotate")
def keys_rotate(batch: int = typer.Option(500, min=1)) -> None:
    """Add a new key and re-encrypt every row under it (resumes an interrupted rotation)."""
    asyncio.run(_rotate(batch))


async def _rotate(batch: int) -> None:
    from assembly.keyrotation import count_stale, reencrypt_all
    from helpline.crypto import RELOAD_CHECK_SECONDS, get_keyring
    from helpline.db import dispose_engine, get_engine

    # The database first: a wrong HELPLINE_VAR_DIR or URL must not leave a new key file behind.
    await _require_migrated_database()
    ring, engine = get_keyring(), get_engine()
    stale = await count_stale(engine, ring)
    if stale:
        console.print(f"resuming: {stale} values not yet under key {ring.current_id}")
    elif get_settings().keys is None:
        console.print(f"new key {ring.add_key()} added")
        # Running services look at the key file once a second: once they write under the new
        # key, nothing they write meanwhile is left behind under the old one.
        await asyncio.sleep(2 * RELOAD_CHECK_SECONDS)
        stale = await count_stale(engine, ring)
    with _progress() as progress:
        task = progress.add_task("re-encrypting", total=stale)
        done = await reencrypt_all(engine, ring, batch, lambda n: progress.advance(task, n))
    left = await count_stale(engine, ring)
    await dispose_engine()
    typer.echo(f"re-encrypted {done} values; current key {ring.current_id}; {left} left")
    if left:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's keyed chain and its signed checkpoints; exit 1 naming what broke."""
    anchored = asyncio.run(_verify())
    result = anchored.chain
    if not result.ok:
        typer.echo(
            f"AUDIT LOG BROKEN at event {result.first_bad_id}: {result.reason} "
            f"({result.checked} events verified before it)"
        )
    for problem in anchored.problems:
        typer.echo(f"AUDIT LOG BROKEN: {problem}")
    if not anchored.ok:
        raise typer.Exit(1)
    typer.echo(
        f"audit log intact: {result.checked} events, {anchored.checkpoints} signed checkpoints"
    )
    if result.unkeyed:
        typer.echo(
            f"note: the first {result.unkeyed} events predate the keyed chain and are checked "
            "with plain SHA-256 only (a rewrite of them is caught only by a checkpoint)"
        )
    if not anchored.checkpoints:
        typer.echo("note: no checkpoints yet (`helpline audit checkpoint` writes one)")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's newest event into var/audit/checkpoints.jsonl (and mail it, if set)."""
    point = asyncio.run(_checkpoint())
    if point is None:
        typer.echo("no new events since the last checkpoint")
    else:
        typer.echo(f"checkpoint written: event {point['event_id']}")


async def _checkpoint():  # noqa: ANN202
    from helpline.audit_anchor import write_checkpoint
    from helpline.db import dispose_engine, session_scope

    async with session_scope() as session:
        point = await write_checkpoint(session)
    await dispose_engine()
    return point


async def _verify():  # noqa: ANN202
    from helpline.audit_anchor import verify
    from helpline.db import dispose_engine, session_scope

    async with session_scope() as session:
        result = await verify(session)
    await dispose_engine()
    return result


@demo_app.command("load")
def demo_load(
    config: Path = typer.Option(None, help="demo YAML (default data/demo/config.yaml)"),
    password: str = typer.Option(None, help="one password for every demo login"),
    allow_gaps: bool = typer.Option(
        False, "--allow-gaps", help="load even if `helpline config check` finds gaps"
    ),
) -> None:
    """Create the demo district, schools, staff, rosters and policies; print new logins."""
    from assembly.wiring import load_demo
    from escalation.cli import check_report

    path = config or get_settings().data_dir / "demo" / "config.yaml"
    _refuse_gaps(*check_report(path), allow_gaps)
    logins = asyncio.run(load_demo(path, password))
    if not logins:
        typer.echo("demo configuration already loaded (logins were printed the first time)")
    for login in logins:
        typer.echo(
            f"{login.role:18} {login.username:18} password: {login.password}"
            + (f"\n{'':18} TOTP: {login.totp_uri}" if login.totp_uri else "")
        )


def _refuse_gaps(code: int, answer: dict, lines: list[str], allow_gaps: bool) -> None:
    """A configuration with gaps (someone's case nobody may take or nobody is alerted about) is
    refused unless --allow-gaps; then every gap is warned about on every start."""
    import logging

    if code == 0:
        return
    typer.echo("\n".join(lines), err=True)
    if code == 2 or not allow_gaps:
        if code == 1:
            typer.echo("拒绝使用有缺口的配置；修正后重试，或加 --allow-gaps 明确接受。", err=True)
        raise typer.Exit(code)
    logging.getLogger("helpline.coverage").warning(
        "configuration has coverage gaps", extra={"gaps": [g["code"] for g in answer["gaps"]]}
    )
    typer.echo(f"警告：带着 {len(answer['gaps'])} 处缺口启动（--allow-gaps）。", err=True)


@app.command()
def serve(
    host: str = typer.Option(None),
    port: int = typer.Option(None),
    allow_gaps: bool = typer.Option(
        False, "--allow-gaps", help="start even if the configuration has coverage gaps"
    ),
    workers: int = typer.Option(
        1,
        min=1,
        help="web processes on the one port; with more than one, the escalation worker, the "
        "Telegram poller and the audit checkpoints run once, in a process of their own",
    ),
) -> None:
    """Run the web app, the Telegram bot (when a token is set) and the escalation worker."""
    import uvicorn

    from assembly.app import create_app
    from escalation.cli import check_database
    from helpline.accesslog import server_config
    from helpline.db import dispose_engine
    from helpline.logs import configure_logging

    settings = get_settings()
    asyncio.run(_require_migrated_database())
    configure_logging(settings.log_level)

    async def check() -> tuple[int, dict, list[str]]:
        try:
            return await check_database()
        finally:
            await dispose_engine()

    _refuse_gaps(*asyncio.run(check()), allow_gaps)
    _warn_at_start()
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        uvicorn.Server(server_config(create_app(), host, port)).run()
        return
    _serve_processes(host, port, workers)


def _serve_processes(host: str, port: int, workers: int) -> None:
    """N web processes sharing one socket (uvicorn's supervisor), and one process running the
    background services; everything they share is in the database (rate limits, the audit
    chain, timers with SKIP LOCKED, the configuration stamp)."""
    import os
    import subprocess

    import uvicorn

    from helpline.accesslog import server_options

    background = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed module
        [sys.executable, "-m", "assembly.background"], env=dict(os.environ)
    )
    os.environ["HELPLINE_BACKGROUND_SERVICES"] = "false"
    try:
        uvicorn.run(
            "assembly.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **server_options(),
        )
    finally:
        background.terminate()
        background.wait(timeout=30)


def _warn_at_start() -> None:
    """Say loudly, before serving, what will not work (e.g. alerts over an SMTP server that
    does not answer): on the terminal and in the log, at WARNING."""
    import logging

    from assembly.wiring import startup_warnings
    from helpline.db import dispose_engine

    async def check() -> list[str]:
        try:
            return await startup_warnings()
        finally:
            await dispose_engine()  # its connections belong to this short event loop

    try:
        problems = asyncio.run(check())
    except Exception as exc:  # a failing check must not stop the service from starting
        problems = [f"the start-up checks could not run ({type(exc).__name__})"]
    log = logging.getLogger("helpline.startup")
    for problem in problems:
        log.warning("start-up check: %s", problem)
        console.print(f"[bold red]WARNING:[/] {problem}")
    if problems:
        console.print(
            "[bold red]WARNING:[/] alerts on these channels will not arrive until this is fixed; "
            "the in-console channel still works (see /readyz, `helpline alerts test`)."
        )


async def _require_migrated_database() -> None:
    """Fail before serving, in one line, when the database is missing, unreachable or empty."""
    from sqlalchemy import text

    from helpline.db import dispose_engine, get_engine

    try:
        async with get_engine().connect() as connection:
            await connection.execute(text("SELECT version_num FROM alembic_version"))
    finally:
        await dispose_engine()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    )


def main() -> None:
    from helpline.clierrors import EXIT_USAGE, explain
    from helpline.db import forbid_creating_databases

    restrict_process()
    forbid_creating_databases()  # only `db upgrade` makes a database (its engine says so)
    try:
        _mount_optional()
        # Not standalone: a usage error (a missing or malformed option) reaches the handler
        # below as one line, instead of click's framed box.
        code = app(prog_name="helpline", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "helpline"
        line = f"error: {exc.format_message()} (hint: {where} --help lists what it takes)"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        known = explain(exc)
        if known is None:
            raise
        _close_database()  # a SQLite file left open keeps its -wal and -shm files
        console.print(known.line(), markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    if isinstance(code, int) and code:  # typer.Exit(code) of a command
        sys.exit(code)


def _close_database() -> None:
    from helpline.db import dispose_engine

    try:
        asyncio.run(dispose_engine())
    except Exception:  # noqa: S110 - best effort on the way out of a failed command
        pass


if __name__ == "__main__":
    main()

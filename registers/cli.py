"""`helpline report ...`: the month's files from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

app = typer.Typer(
    help="Statistics and registers (月报, 欺凌登记表, 报告时限).", no_args_is_help=True
)
console = Console(stderr=True)


@app.command("monthly")
def monthly(
    month: str = typer.Option(..., help="YYYY-MM (local time)"),
    district: str = typer.Option(..., help="organisation code (a district or a school)"),
    out: Path = typer.Option(Path("."), help="an existing folder for the files"),
) -> None:
    """Write the month's statistics (CSV, XLSX), deadline compliance and bullying register."""
    from helpline.clierrors import CommandError
    from registers.config import parse_month

    try:
        parse_month(month)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from exc
    if not out.is_dir():
        # Creating it could put a folder at the root of the file system on a typo.
        raise CommandError(
            f"the folder {out} does not exist", "create it first, or name another --out"
        )
    written = asyncio.run(_monthly(month, district, out))
    for path in written:
        typer.echo(str(path))


async def _monthly(month: str, code: str, out: Path) -> list[Path]:
    from helpline.clierrors import CommandError
    from helpline.db import dispose_engine, session_scope
    from registers import bundle

    steps = ("statistics", "compliance", "register", "files")
    try:
        async with session_scope() as session:
            try:
                org = await bundle.org_by_code(session, code)
            except bundle.UnknownOrganisation:
                codes = await bundle.organisation_codes(session)
                raise CommandError(
                    f"no organisation with code {code}",
                    "valid codes: " + ", ".join(codes) if codes else 'run "helpline demo load"',
                ) from None
    finally:
        await dispose_engine()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task(f"{code} {month}", total=len(steps) + 1)
        try:
            async with session_scope() as session:
                org = await bundle.org_by_code(session, code)
                files = await bundle.build(
                    session, org, month, step=lambda name: progress.advance(task)
                )
            written = bundle.write(files, out, create=False)
            progress.advance(task)
        finally:
            await dispose_engine()
    return written


def demo_generate(
    year: int = typer.Option(None, help="calendar year (default: last year)"),
    seed: int = typer.Option(1, help="random seed (the same seed gives the same year)"),
    cases: int = typer.Option(600, min=1, help="how many cases"),
) -> None:
    """Fill the database with a realistic, clearly fake year of cases (texts start 【演示】).

    Mounted by the assembly's command line as `helpline demo generate`.
    """
    from helpline.db import utcnow

    made = asyncio.run(_demo(year or utcnow().year - 1, seed, cases))
    typer.echo(f"generated {made} demo cases")


async def _demo(year: int, seed: int, cases: int) -> int:
    from helpline.db import dispose_engine, session_scope
    from registers.demo_data import generate

    # The assembly's `demo` group has wired the hooks: intake's hooks open the statutory
    # reports and escalation chains of the generated cases.
    try:
        with console.status(f"generating {cases} cases for {year}"):
            async with session_scope() as session:
                return await generate(session, year, seed, cases)
    finally:
        await dispose_engine()

"""The typed contract between a package and the assembly: what a package's `plugin.py` offers.

Each package from triage up has a `plugin.py` module whose functions are the members of
`Plugin` (a module satisfies a Protocol with its functions, PEP 544);
`tests/triage/test_plugin_protocol.py` checks every module's names and annotations against it,
and `assembly/wiring.py` reads nothing else from a package. It lives in triage, the lowest layer
with staff and cases: navigation is per staff member, and the hooks are triage's events.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple, Protocol

import typer
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from triage.demo import DemoLogin
    from triage.hooks import NavLink
    from triage.models import StaffUser

# A long-running coroutine started with the service (a worker loop, a bot, a schedule).
BackgroundService = Callable[[], Coroutine[object, object, None]]
# Run before serving: what it finds wrong, one line each (e.g. an alert channel that is down).
StartupCheck = Callable[[], Awaitable[list[str]]]
# The parsed data/demo/config.yaml; each package reads its own sections.
DemoConfig = dict[str, object]


class CliCommand(NamedTuple):
    """A command of the `helpline` line: a Typer group or a command function, under `name`;
    `group` names the assembly's group it joins (`config`, `demo`, `nlu`), empty for the top."""

    name: str
    command: typer.Typer | Callable[..., None]
    group: str = ""


class Plugin(Protocol):
    """Everything a package contributes to the assembled service, each kind explicit."""

    def register_hooks(self) -> None:
        """Hang the package's handlers on `triage/hooks.py:hooks`: case opened, raised and
        closed, close guards, case panels, console banners, replies queued, staff actions and
        links. Called once per wiring, bottom to top, after the registry was cleared."""

    def nav_links(self, staff: StaffUser) -> list[NavLink]:
        """The package's console pages this staff member may open, as (url, title)."""

    def console_scripts(self) -> list[str]:
        """Scripts every signed-in console page loads (urls under /static or the package's)."""

    def routers(self) -> list[APIRouter]:
        """The package's routes (pages, forms, webhooks, APIs)."""

    def background_services(self) -> list[BackgroundService]:
        """Coroutine factories started with the web app or in `python -m assembly.background`."""

    def startup_checks(self) -> list[StartupCheck]:
        """Checks `helpline serve` runs before serving; a finding is a loud warning."""

    def cli_commands(self) -> list[CliCommand]:
        """The package's commands of the `helpline` line."""

    async def load_demo(
        self, session: AsyncSession, config: DemoConfig, password: str | None
    ) -> list[DemoLogin]:
        """Load the package's sections of the demo configuration; the logins it created."""


MEMBERS = tuple(
    name
    for name, value in vars(Plugin).items()
    if inspect.isfunction(value) and not name.startswith("_")  # not Protocol's own machinery
)


def conformance_problems(module: ModuleType) -> list[str]:
    """How a plugin module departs from `Plugin`: a member missing, or its parameters, their
    annotations, its return annotation or its being async differ. Annotations are compared as
    written (the modules use the same names for the same types), so `Any` cannot slip in."""
    problems: list[str] = []
    for name in MEMBERS:
        wanted, offered = getattr(Plugin, name), getattr(module, name, None)
        if not inspect.isfunction(offered):
            problems.append(f"{module.__name__}.{name} is missing")
            continue
        want, got = inspect.signature(wanted), inspect.signature(offered)
        want_params = [(p.name, p.annotation) for p in list(want.parameters.values())[1:]]
        got_params = [(p.name, p.annotation) for p in got.parameters.values()]
        same_async = inspect.iscoroutinefunction(offered) == inspect.iscoroutinefunction(wanted)
        if got_params != want_params or got.return_annotation != want.return_annotation:
            problems.append(f"{module.__name__}.{name}{got} is not Plugin.{name}{want}")
        elif not same_async:
            must = "must" if inspect.iscoroutinefunction(wanted) else "must not"
            problems.append(f"{module.__name__}.{name} {must} be async")
    return problems

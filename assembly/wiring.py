"""Wires the packages together: hooks, navigation, console scripts, routers, background
services, start-up checks, CLI commands, demo data.

Each package from triage up has a `plugin` module that is a `triage/plugin_protocol.py:Plugin`;
the assembly checks it against the protocol and calls it bottom-up, so no lower package ever
imports a higher one.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, cast

from fastapi import APIRouter

from helpline.db import session_scope
from triage.plugin_protocol import (
    BackgroundService,
    CliCommand,
    Plugin,
    conformance_problems,
)

if TYPE_CHECKING:
    from triage.demo import DemoLogin

PLUGINS = (
    "triage.plugin",
    "escalation.plugin",
    "registers.plugin",
    "bot.plugin",
)  # bottom to top


@functools.cache
def _plugin(name: str) -> Plugin:
    module = importlib.import_module(name)
    problems = conformance_problems(module)
    if problems:  # a wrong plugin fails at start, not when its page is first opened
        raise TypeError("; ".join(problems))
    return cast(Plugin, module)


def _plugins() -> list[Plugin]:
    return [_plugin(name) for name in PLUGINS]


def wire_hooks() -> None:
    """Register the higher layers' handlers, navigation links and console scripts on the lower
    layers' hooks (idempotent)."""
    from helpline.web import CONSOLE_SCRIPTS
    from triage.hooks import hooks

    hooks.clear()
    for plugin in _plugins():
        plugin.register_hooks()
        hooks.nav_links.append(plugin.nav_links)
        for script in plugin.console_scripts():
            if script not in CONSOLE_SCRIPTS:  # the kernel's own first, then bottom-up
                CONSOLE_SCRIPTS.append(script)


def routers() -> list[APIRouter]:
    return [router for plugin in _plugins() for router in plugin.routers()]


def background_services() -> list[BackgroundService]:
    """Coroutine factories started with the web app (worker loops, bots, audit checkpoints)."""
    from helpline.audit_anchor import background_service as audit_checkpoints

    plugins = [service for plugin in _plugins() for service in plugin.background_services()]
    return [audit_checkpoints, *plugins]


async def startup_warnings() -> list[str]:
    """What the packages find wrong at start (e.g. an alert channel that does not answer)."""
    found: list[str] = []
    for plugin in _plugins():
        for check in plugin.startup_checks():
            found.extend(await check())
    return found


def cli_commands() -> list[CliCommand]:
    return [command for plugin in _plugins() for command in plugin.cli_commands()]


async def load_demo(path: Path, password: str | None) -> list[DemoLogin]:
    """Load data/demo/config.yaml: each package loads its own sections, in one transaction."""
    import yaml

    from helpline.db import dispose_engine

    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    config = yaml.safe_load(text)
    logins: list[DemoLogin] = []
    async with session_scope() as session:
        for plugin in _plugins():
            logins.extend(await plugin.load_demo(session, config, password))
    await dispose_engine()
    return logins

"""Wires the packages together: hooks, routers, background services, CLI commands, demo.

Each package above the kernel exposes a `plugin` module with the same five functions; the
assembly calls them bottom-up, so no lower package ever imports a higher one.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import APIRouter

from helpline.db import session_scope

PLUGINS = (
    "triage.plugin",
    "escalation.plugin",
    "registers.plugin",
    "bot.plugin",
)  # bottom to top


def _plugins() -> list[ModuleType]:
    return [importlib.import_module(name) for name in PLUGINS]


def wire_hooks() -> None:
    """Register the higher layers' handlers on the lower layers' hooks (idempotent)."""
    from triage.hooks import hooks

    hooks.clear()
    for plugin in _plugins():
        plugin.register_hooks()


def routers() -> list[APIRouter]:
    return [router for plugin in _plugins() for router in plugin.routers()]


def background_services() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """Coroutine factories started with the web app (worker loops, bots, audit checkpoints)."""
    from helpline.audit_anchor import background_service as audit_checkpoints

    plugins = [service for plugin in _plugins() for service in plugin.background_services()]
    return [audit_checkpoints, *plugins]


async def startup_warnings() -> list[str]:
    """What the packages find wrong at start (e.g. an alert channel that does not answer);
    a plugin offers `startup_checks()` returning such checks."""
    found: list[str] = []
    for plugin in _plugins():
        for check in getattr(plugin, "startup_checks", list)():
            found.extend(await check())
    return found


def extra_cli_commands() -> list[tuple[str, Callable[..., Any]]]:
    return [command for plugin in _plugins() for command in plugin.cli_commands()]


async def load_demo(path: Path, password: str | None) -> list[Any]:
    """Load data/demo/config.yaml: each package loads its own sections, in one transaction."""
    import yaml

    from helpline.db import dispose_engine

    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    config = yaml.safe_load(text)
    logins: list[Any] = []
    async with session_scope() as session:
        for plugin in _plugins():
            logins.extend(await plugin.load_demo(session, config, password))
    await dispose_engine()
    return logins

"""What registers contributes to the assembled service."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession


def register_hooks() -> None:
    """Registers only read: their pages join the console navigation."""
    from registers.access import nav_links
    from triage.hooks import hooks

    hooks.nav_links.append(nav_links)


def routers() -> list[APIRouter]:
    from registers.routes import router

    return [router]


def background_services() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    from registers.schedule import background_service

    return [background_service]


def cli_commands() -> list[tuple[str, Any]]:
    from registers.cli import app

    return [("report", app)]


async def load_demo(
    session: AsyncSession, config: dict[str, Any], password: str | None
) -> list[Any]:
    """The demo configuration has nothing for registers (cases come from `demo generate`)."""
    return []

"""What registers contributes to the assembled service (see `triage/plugin_protocol.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from triage.plugin_protocol import BackgroundService, CliCommand, DemoConfig, StartupCheck

if TYPE_CHECKING:
    from triage.demo import DemoLogin
    from triage.hooks import NavLink
    from triage.read import Staff as StaffUser


def register_hooks() -> None:
    """Registers only read: they hang nothing on triage's events."""


def nav_links(staff: StaffUser) -> list[NavLink]:
    from registers.access import nav_links as register_pages

    return register_pages(staff)


def console_scripts() -> list[str]:
    return []


def routers() -> list[APIRouter]:
    from registers.routes import router

    return [router]


def background_services() -> list[BackgroundService]:
    from registers.schedule import background_service

    return [background_service]


def startup_checks() -> list[StartupCheck]:
    return []


def cli_commands() -> list[CliCommand]:
    from registers.cli import app, demo_generate

    return [CliCommand("report", app), CliCommand("generate", demo_generate, group="demo")]


async def load_demo(
    session: AsyncSession, config: DemoConfig, password: str | None
) -> list[DemoLogin]:
    """The demo configuration has nothing for registers (cases come from `demo generate`)."""
    return []

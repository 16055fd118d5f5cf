"""What triage contributes to the assembled service (see `triage/plugin_protocol.py:Plugin`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from triage.plugin_protocol import BackgroundService, CliCommand, DemoConfig, StartupCheck

if TYPE_CHECKING:
    from triage.demo import DemoLogin
    from triage.hooks import NavLink
    from triage.models import StaffUser


def register_hooks() -> None:
    """Triage's own handlers (the first-response deadline is set by triage/fold.py and
    intake before any hook runs)."""
    from triage.hooks import hooks
    from triage.reanalysis import first_start_banner

    hooks.console_banners.append(first_start_banner)  # rules-only until the model is loaded


def nav_links(staff: StaffUser) -> list[NavLink]:
    """Triage's own pages are in the console's fixed navigation (`triage/pages.py`)."""
    return []


def console_scripts() -> list[str]:
    """The live queue and case pages, the countdowns."""
    from triage.console import LIVE_SCRIPT

    return [LIVE_SCRIPT]


def routers() -> list[APIRouter]:
    from triage import (
        console,
        routes_account,
        routes_admin,
        routes_audit,
        routes_case,
        routes_queue,
    )

    return [
        console.router,
        routes_queue.router,
        routes_case.router,
        routes_admin.router,
        routes_audit.router,
        routes_account.router,
    ]


def background_services() -> list[BackgroundService]:
    from triage.reanalysis import run_reanalysis

    return [run_reanalysis]  # the first start: messages analysed by rules, again by the model


def startup_checks() -> list[StartupCheck]:
    return []


def cli_commands() -> list[CliCommand]:
    from triage.feedback import export_feedback

    return [CliCommand("export-feedback", export_feedback, group="nlu")]


async def load_demo(
    session: AsyncSession, config: DemoConfig, password: str | None
) -> list[DemoLogin]:
    from triage.demo import load_orgs_and_staff

    return await load_orgs_and_staff(session, config, password)

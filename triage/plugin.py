"""What triage contributes to the assembled service."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession


def register_hooks() -> None:
    """Triage's own handlers run first: administrators' first-response targets; the console's
    live script."""
    from helpline.web import CONSOLE_SCRIPTS
    from triage.console import LIVE_SCRIPT
    from triage.hooks import hooks
    from triage.policy import target_on_open, target_on_raise
    from triage.reanalysis import first_start_banner

    if LIVE_SCRIPT not in CONSOLE_SCRIPTS:  # the live queue and case pages, the countdowns
        CONSOLE_SCRIPTS.append(LIVE_SCRIPT)
    hooks.case_opened.append(target_on_open)
    hooks.case_raised.append(target_on_raise)
    hooks.console_banners.append(first_start_banner)  # rules-only until the model is loaded


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


def background_services() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    from triage.reanalysis import run_reanalysis

    return [run_reanalysis]  # the first start: messages analysed by rules, again by the model


def cli_commands() -> list[tuple[str, Callable[..., Any]]]:
    return []


async def load_demo(
    session: AsyncSession, config: dict[str, Any], password: str | None
) -> list[Any]:
    from triage.demo import load_orgs_and_staff

    return await load_orgs_and_staff(session, config, password)

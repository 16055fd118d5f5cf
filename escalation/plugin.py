"""What escalation contributes to the assembled service."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession


def register_hooks() -> None:
    """Reports and chains with each case; the case page panel; the close guard."""
    from escalation import fallback
    from escalation import hooks as handlers
    from escalation.incidents import console_banner
    from escalation.panel import case_panel
    from escalation.reports import close_guard
    from escalation.routes_coverage import coverage_banner
    from helpline.web import CONSOLE_SCRIPTS
    from triage.hooks import hooks

    if LIVE_ALERTS_SCRIPT not in CONSOLE_SCRIPTS:
        CONSOLE_SCRIPTS.append(LIVE_ALERTS_SCRIPT)
    hooks.case_opened.append(handlers.on_case_opened)
    hooks.case_raised.append(handlers.on_case_raised)
    # After the chain exists: a case nobody at its organisation may take goes up.
    hooks.case_opened.append(fallback.on_case_opened)
    hooks.case_raised.append(fallback.on_case_raised)
    hooks.close_guards.append(close_guard)
    hooks.case_panels.append(case_panel)
    hooks.nav_links.append(nav_links)
    hooks.staff_actions.append(staff_actions)
    hooks.staff_links.append(staff_links)
    hooks.case_closed.append(handlers.on_case_closed)
    hooks.console_banners.append(console_banner)
    hooks.console_banners.append(coverage_banner)


LIVE_ALERTS_SCRIPT = "/console/alerts/live.js"


def nav_links(staff: Any) -> list[tuple[str, str]]:
    from triage import permissions as perm

    board = [("/console/deadlines", "待办法定报告")] if perm.can_use_queue(staff) else []
    coverage = (
        [
            ("/console/admin/coverage", "接案与值班覆盖"),
            ("/console/admin/rosters", "值班表"),
            ("/console/admin/policies", "升级策略"),
        ]
        if perm.can_administer(staff)
        else []
    )
    return [*board, *coverage, ("/console/alerts", "我的通知")]


def staff_actions(viewer: Any, person: Any) -> list[tuple[str, str]]:
    """The admin page's button to send a person a test alert on all their channels."""
    return [(f"/console/admin/staff/{person.id}/test-alert", "发送测试通知")]


def staff_links(viewer: Any, person: Any) -> list[tuple[str, str]]:
    """The admin page's link to a person's alert addresses (checked like the YAML's)."""
    return [(f"/console/admin/staff/{person.id}/contact", "通知地址")]


def routers() -> list[APIRouter]:
    from escalation.console_routes import router as console_router
    from escalation.phone_receipts import router as phone_receipts
    from escalation.routes import router
    from escalation.routes_contacts import router as contacts_router
    from escalation.routes_coverage import router as coverage_router
    from escalation.routes_policies import router as policy_router
    from escalation.routes_roster import router as roster_router

    return [
        router,
        console_router,
        phone_receipts,
        coverage_router,
        contacts_router,
        roster_router,
        policy_router,
    ]


def background_services() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    from escalation.worker import background_service

    return [background_service]


def startup_checks() -> list[Callable[[], Coroutine[Any, Any, list[str]]]]:
    from escalation.channel_check import channel_problems

    return [channel_problems]


def cli_commands() -> list[tuple[str, Callable[..., Any]]]:
    from escalation.cli import alerts_app, config_export, worker

    return [("worker", worker), ("alerts", alerts_app), ("config-export", config_export)]


async def load_demo(
    session: AsyncSession, config: dict[str, Any], password: str | None
) -> list[Any]:
    from escalation.setup import load_config

    await load_config(session, config)
    return []

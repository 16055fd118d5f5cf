"""What escalation contributes to the assembled service (see `triage/plugin_protocol.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.datafiles import section_text
from triage.plugin_protocol import BackgroundService, CliCommand, DemoConfig, StartupCheck

if TYPE_CHECKING:
    from triage.demo import DemoLogin
    from triage.hooks import NavLink
    from triage.models import StaffUser

_said = section_text("escalation", "nav")  # words from data/escalation/texts.yaml


def register_hooks() -> None:
    """Reports and chains with each case; the case page panel; the close guard."""
    from escalation import case_handlers as handlers
    from escalation import fallback
    from escalation.incidents import console_banner
    from escalation.panel import case_panel
    from escalation.reports import close_guard
    from escalation.routes_coverage import coverage_banner
    from triage.hooks import hooks

    hooks.case_opened.append(handlers.on_case_opened)
    hooks.case_raised.append(handlers.on_case_raised)
    # After the chain exists: a case nobody at its organisation may take goes up.
    hooks.case_opened.append(fallback.on_case_opened)
    hooks.case_raised.append(fallback.on_case_raised)
    hooks.close_guards.append(close_guard)
    hooks.case_panels.append(case_panel)
    hooks.staff_actions.append(staff_actions)
    hooks.staff_links.append(staff_links)
    hooks.case_closed.append(handlers.on_case_closed)
    hooks.console_banners.append(console_banner)
    hooks.console_banners.append(coverage_banner)


LIVE_ALERTS_SCRIPT = "/console/alerts/live.js"


def nav_links(staff: StaffUser) -> list[NavLink]:
    from triage import permissions as perm

    board = [("/console/deadlines", _said("deadlines"))] if perm.can_use_queue(staff) else []
    coverage = (
        [
            ("/console/admin/coverage", _said("coverage")),
            ("/console/admin/rosters", _said("rosters")),
            ("/console/admin/policies", _said("policies")),
        ]
        if perm.can_administer(staff)
        else []
    )
    return [*board, *coverage, ("/console/alerts", _said("alerts"))]


def console_scripts() -> list[str]:
    """The live alerts of every console page."""
    return [LIVE_ALERTS_SCRIPT]


def staff_actions(viewer: StaffUser, person: StaffUser) -> list[NavLink]:
    """The admin page's button to send a person a test alert on all their channels."""
    return [(f"/console/admin/staff/{person.id}/test-alert", _said("test_alert"))]


def staff_links(viewer: StaffUser, person: StaffUser) -> list[NavLink]:
    """The admin page's link to a person's alert addresses (checked like the YAML's)."""
    return [(f"/console/admin/staff/{person.id}/contact", _said("contact"))]


def routers() -> list[APIRouter]:
    from escalation.console_routes import router as console_router
    from escalation.phone_receipts import router as phone_receipts
    from escalation.routes import router
    from escalation.routes_contacts import router as contacts_router
    from escalation.routes_coverage import router as coverage_router
    from escalation.routes_policies import export_router
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
        export_router,
    ]


def background_services() -> list[BackgroundService]:
    from escalation.worker import background_service

    return [background_service]


def startup_checks() -> list[StartupCheck]:
    from escalation.channel_check import channel_problems

    return [channel_problems]


def cli_commands() -> list[CliCommand]:
    from escalation.cli import alerts_app, config_check, config_export, worker

    return [
        CliCommand("worker", worker),
        CliCommand("alerts", alerts_app),
        CliCommand("config-export", config_export),
        CliCommand("check", config_check, group="config"),
    ]


async def load_demo(
    session: AsyncSession, config: DemoConfig, password: str | None
) -> list[DemoLogin]:
    from escalation.config_import import load_config

    await load_config(session, config)
    return []

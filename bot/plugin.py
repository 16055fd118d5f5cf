"""What bot contributes to the assembled service: the web form, the call log, the Telegram
webhook and bot, the WeChat endpoint, and the delivery of counsellors' replies
(see `triage/plugin_protocol.py`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.settings import get_settings
from triage.plugin_protocol import BackgroundService, CliCommand, DemoConfig, StartupCheck

if TYPE_CHECKING:
    from triage.demo import DemoLogin
    from triage.hooks import NavLink
    from triage.models import StaffUser


def register_hooks() -> None:
    from bot.attachment_views import case_panel
    from bot.delivery import waker
    from bot.screening_views import case_panel as screening_panel
    from bot.wechat_delivery import waker as wechat_waker
    from triage.hooks import hooks

    hooks.reply_queued.append(waker.wake)
    hooks.reply_queued.append(wechat_waker.wake)
    hooks.case_panels.append(screening_panel)
    hooks.case_panels.append(case_panel)


def nav_links(staff: StaffUser) -> list[NavLink]:
    from triage import permissions as perm

    return [("/console/calls/new", "登记来电")] if perm.can_log_calls(staff) else []


def console_scripts() -> list[str]:
    return []


def routers() -> list[APIRouter]:
    from bot.attachment_views import router as attachment_views
    from bot.callback import router as callback
    from bot.calls import router as calls
    from bot.webform import router as webform
    from bot.webhook import router as webhook
    from bot.wechat_routes import router as wechat
    from bot.wecom_routes import router as wecom

    return [webform, callback, calls, webhook, wechat, wecom, attachment_views]


async def warm_up() -> None:
    """Load the language model at start-up: the first reporter must not wait for it."""
    import nlu

    await asyncio.to_thread(nlu.default_pipeline)


def background_services() -> list[BackgroundService]:
    from bot import wechat_api, wecom_api

    services: list[BackgroundService] = []
    if wechat_api.configured() or wecom_api.configured():
        from bot.wechat_delivery import run_wechat

        services.append(run_wechat)  # warms the model up, then delivers replies
    if get_settings().telegram_token is not None:
        from bot.telegram_service import run_telegram

        services.append(run_telegram)  # it warms the model up itself before taking updates
    return services or [warm_up]


def startup_checks() -> list[StartupCheck]:
    return []


def cli_commands() -> list[CliCommand]:
    return []


async def load_demo(
    session: AsyncSession, config: DemoConfig, password: str | None
) -> list[DemoLogin]:
    return []

"""What bot contributes to the assembled service: the web form, the call log, the Telegram
webhook and bot, and the delivery of counsellors' replies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.settings import get_settings


def register_hooks() -> None:
    from bot.attachment_views import case_panel
    from bot.delivery import waker
    from triage.hooks import hooks

    hooks.reply_queued.append(waker.wake)
    hooks.case_panels.append(case_panel)
    hooks.nav_links.append(nav_links)


def nav_links(staff: Any) -> list[tuple[str, str]]:
    from triage import permissions as perm

    return [("/console/calls/new", "登记来电")] if perm.can_log_calls(staff) else []


def routers() -> list[APIRouter]:
    from bot.attachment_views import router as attachment_views
    from bot.calls import router as calls
    from bot.webform import router as webform
    from bot.webhook import router as webhook

    return [webform, calls, webhook, attachment_views]


async def warm_up() -> None:
    """Load the language model at start-up: the first reporter must not wait for it."""
    import nlu

    await asyncio.to_thread(nlu.default_pipeline)


def background_services() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    if get_settings().telegram_token is None:
        return [warm_up]
    from bot.telegram_service import run_telegram

    return [run_telegram]  # it warms the model up itself before taking updates


def cli_commands() -> list[tuple[str, Callable[..., Any]]]:
    return []


async def load_demo(
    session: AsyncSession, config: dict[str, Any], password: str | None
) -> list[Any]:
    return []

"""Is each configured alert channel reachable right now? Asked by `helpline serve` at start
(a loud WARNING for each one that is not) and by `helpline alerts check`.

The words name the channel and the setting to look at, never an address, a token or a name
(the operator reads the values with `helpline config show`).
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import urllib.parse

from sqlalchemy import select

from escalation.models import AlertChannel
from helpline.db import session_scope
from helpline.settings import get_settings

TIMEOUT = 3.0


def _smtp_answers(host: str, port: int) -> None:
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
        smtp.noop()


async def check_smtp() -> str | None:
    conf = get_settings()
    try:
        await asyncio.to_thread(_smtp_answers, conf.smtp_host, conf.smtp_port)
    except (OSError, smtplib.SMTPException) as exc:
        return (
            "e-mail alerts cannot be delivered: the SMTP server set by HELPLINE_SMTP_HOST/"
            f"HELPLINE_SMTP_PORT does not answer ({type(exc).__name__})"
        )
    return None


async def check_telegram() -> str | None:
    conf = get_settings()
    if conf.telegram_token is None:
        return None
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    try:
        async with Bot(
            conf.telegram_token.get_secret_value(), base_url=conf.telegram_base_url
        ) as bot:
            await bot.get_me(read_timeout=TIMEOUT, connect_timeout=TIMEOUT)
    except InvalidToken:
        return "Telegram alerts cannot be delivered: the Bot API refuses HELPLINE_TELEGRAM_TOKEN"
    except (TelegramError, OSError) as exc:
        return (
            "Telegram alerts cannot be delivered: HELPLINE_TELEGRAM_TOKEN is set but the Bot "
            f"API (HELPLINE_TELEGRAM_BASE_URL) does not answer ({type(exc).__name__})"
        )
    return None


async def _tcp(host: str, port: int) -> None:
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    writer.close()
    await writer.wait_closed()


async def check_group_channels() -> list[str]:
    """Each active group channel (webhook, WeCom, DingTalk robot) whose host does not accept
    a connection; named by its name and kind, never its URL."""
    async with session_scope() as session:
        channels = list(
            (
                await session.execute(select(AlertChannel).where(AlertChannel.active.is_(True)))
            ).scalars()
        )
    problems = []
    for channel in channels:
        url = urllib.parse.urlsplit(channel.target or "")
        if url.scheme not in ("http", "https") or not url.hostname:
            continue
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            await _tcp(url.hostname, port)
        except (OSError, TimeoutError, socket.gaierror) as exc:
            problems.append(
                f"group alert channel {channel.name!r} ({channel.kind}) cannot be reached: its "
                f"host does not accept a connection ({type(exc).__name__})"
            )
    return problems


async def channel_problems() -> list[str]:
    """Every configured channel that cannot be reached now (all checked at once)."""
    smtp, telegram, groups = await asyncio.gather(
        check_smtp(), check_telegram(), check_group_channels(), return_exceptions=True
    )
    found: list[str] = []
    for result in (smtp, telegram):
        if isinstance(result, BaseException):
            found.append(f"a channel check failed ({type(result).__name__})")
        elif result:
            found.append(result)
    if isinstance(groups, BaseException):
        found.append(f"the group channels could not be checked ({type(groups).__name__})")
    else:
        found.extend(groups)
    return found

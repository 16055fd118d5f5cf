"""Scheduled delivery: once per configured day (13, 24, 28 from 08:00 Shanghai) per organisation,
through escalation's real e-mail and webhook notifiers, with an injectable clock; the notice
carries no personal data and its files need a login."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpline.db import session_scope
from helpline.settings import get_settings, reset_settings
from registers.models import ScheduledSend
from registers.schedule import delivery_folder, run_due, serve
from tests.escalation.support import WebhookReceiver
from tests.registers.test_console import _cases
from tests.support.smtp import SmtpSink
from tests.support.web import login


def shanghai(day: int, hour: int, month: int = 10) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, WebhookReceiver]]:
    with SmtpSink() as smtp, WebhookReceiver() as webhook:
        os.environ["HELPLINE_SMTP_HOST"] = "127.0.0.1"
        os.environ["HELPLINE_SMTP_PORT"] = str(smtp.port)
        reset_settings()
        yield smtp, webhook
        for name in ("HELPLINE_SMTP_HOST", "HELPLINE_SMTP_PORT"):
            os.environ.pop(name, None)
        reset_settings()


async def _sends() -> int:
    async with session_scope() as session:
        return (await session.execute(select(func.count(ScheduledSend.id)))).scalar_one()


async def test_sends_once_per_configured_day(client, db_url: str, sinks) -> None:  # noqa: ANN001
    smtp, webhook = sinks
    await _cases()
    from escalation import config_import

    async with session_scope() as session:
        await config_import.add_channel(
            session, {"org": "sch-b", "name": "stats", "kind": "webhook", "url": webhook.url}
        )

    assert await run_due(shanghai(12, 10)) == []
    assert await run_due(shanghai(13, 7)) == []  # before 08:00 on the day
    first = await run_due(shanghai(13, 9))
    assert len(first) == 3  # the district and its two schools
    assert await run_due(shanghai(13, 10)) == [] and await run_due(shanghai(14, 9)) == []
    # the district's two admins and its safeguarding lead, and sch-a's safeguarding lead by
    # e-mail; sch-b's group by webhook
    assert sorted(to[0] for to, _, _ in smtp.messages) == [
        "admin2@demo.invalid",
        "admin@demo.invalid",
        "lead.a@demo.invalid",
        "lead.district@demo.invalid",
    ]
    assert len(webhook.received) == 1
    per_day = len(smtp.messages)

    # Two processes on the 24th: the unique (org, month, day) row lets only one send.
    both = await asyncio.gather(run_due(shanghai(24, 9)), run_due(shanghai(24, 9)))
    assert sum(len(made) for made in both) == 3
    assert len(smtp.messages) == 2 * per_day and len(webhook.received) == 2
    assert len(await run_due(shanghai(28, 23))) == 3
    assert await run_due(shanghai(31, 9)) == []
    assert await _sends() == 9

    bodies = smtp.bodies() + [hook.raw for hook in webhook.received]
    for body in bodies:
        assert "2025-10" in body and "/console/statistics" in body
        for private in ("王老师", "张主任", "吴管理", "冯管理", "【演示】", "demo.invalid", "刷单"):
            assert private not in body
    assert any("示范区第一中学" in body for body in smtp.bodies()[:per_day])

    folder = delivery_folder("qp-demo", "2025-10", 13)
    assert (folder / "statistics.xlsx").is_file() and (folder / "bullying-register.xlsx").is_file()
    assert str(folder).startswith(str(get_settings().var_dir))
    async with session_scope() as session:
        sends = (await session.execute(select(ScheduledSend).order_by(ScheduledSend.id))).scalars()
        sends = list(sends)
    district_send = sends[0]
    assert district_send.state == "sent" and district_send.failures == 0
    link = f"/console/statistics/deliveries/{district_send.id}/statistics.xlsx"
    assert (await client.get(link, follow_redirects=False)).status_code == 303  # login first
    await login(client, "lead.a")
    assert (await client.get(link)).status_code == 404  # the district's file: not the school's
    client.cookies.clear()
    await login(client, "admin.district")
    download = await client.get(link)
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert (await client.get(link.replace("statistics.xlsx", "x.xlsx"))).status_code == 404


async def test_background_loop_uses_its_clock(db_url: str, sinks) -> None:  # noqa: ANN001
    stop = asyncio.Event()
    task = asyncio.create_task(serve(clock=lambda: shanghai(13, 9, month=11), stop=stop, delay=0))
    for _ in range(200):
        if await _sends() == 3:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert await _sends() == 3

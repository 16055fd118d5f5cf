"""Fixtures for escalation tests: stand-ins wired into the settings, a demo school policy."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from tests.escalation.support import SCHOOL_POLICY, Clock, WebhookReceiver
from tests.support.smtp import SmtpSink

# Monday 2026-11-16 10:00 in Shanghai (02:00 UTC): duty.a is on duty at sch-a.
MONDAY_10 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_10)


@pytest_asyncio.fixture
async def mail(db_url: str, smtp: SmtpSink) -> AsyncIterator[SmtpSink]:
    """The demo configuration (district emergency policy, all by e-mail), SMTP at the sink."""
    from assembly import wiring
    from helpline.settings import reset_settings

    os.environ["HELPLINE_SMTP_HOST"] = "127.0.0.1"
    os.environ["HELPLINE_SMTP_PORT"] = str(smtp.port)
    reset_settings()
    wiring.wire_hooks()
    yield smtp
    for name in ("HELPLINE_SMTP_HOST", "HELPLINE_SMTP_PORT"):
        os.environ.pop(name, None)
    reset_settings()


@pytest_asyncio.fixture
async def wired(db_url: str, smtp: SmtpSink, webhook: WebhookReceiver) -> AsyncIterator[dict]:
    """SMTP pointed at the sink, hooks wired, a school policy alerting duty + a webhook group."""
    from assembly import wiring
    from helpline.db import session_scope
    from helpline.settings import reset_settings

    os.environ["HELPLINE_SMTP_HOST"] = "127.0.0.1"
    os.environ["HELPLINE_SMTP_PORT"] = str(smtp.port)
    reset_settings()
    wiring.wire_hooks()
    from escalation import config_import

    async with session_scope() as session:
        await config_import.add_channel(
            session, {"org": "sch-a", "name": "duty-group", "kind": "webhook", "url": webhook.url}
        )
        await config_import.add_policy(session, SCHOOL_POLICY)
    yield {"smtp": smtp, "webhook": webhook}
    for name in ("HELPLINE_SMTP_HOST", "HELPLINE_SMTP_PORT"):
        os.environ.pop(name, None)
    reset_settings()


TEACHER_ABUSE = "我们班主任刘建国老师晚上把我叫到办公室摸我的身体，还不让我告诉别人，我好害怕"

"""Several workers on PostgreSQL share the timers (FOR UPDATE SKIP LOCKED): each alert once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from escalation.models import Delivery
from escalation.worker import Worker
from helpline.db import session_scope, utcnow
from tests.escalation.support import WebhookReceiver
from tests.support.load import queue_alerts
from tests.support.web import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="SKIP LOCKED needs PostgreSQL")


async def test_four_workers_send_each_alert_once(db_url: str) -> None:
    with WebhookReceiver() as receiver:
        due = utcnow() - timedelta(seconds=1)
        async with session_scope() as session:
            ids = await queue_alerts(session, 600, receiver.url, due)
        workers = [Worker(batch=25, concurrency=4) for _ in range(4)]
        ran = await asyncio.gather(*(w.drain() for w in workers))
    counts = Counter(item.body["alert_id"] for item in receiver.received)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
    assert all(n > 0 for n in ran)  # the work really was shared
    async with session_scope() as session:
        sent = (
            await session.execute(select(func.count()).where(Delivery.state == "sent"))
        ).scalar_one()
    assert sent == 600

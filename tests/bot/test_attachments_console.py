"""Attachments on the counsellor's case page: shown and opened only with content access."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot import attachments
from helpline.audit import AuditEvent
from helpline.db import session_scope
from tests.support.web import login
from triage.intake import Intake, receive

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(200))


async def _case_with_photo() -> tuple[int, int]:
    async with session_scope() as s:
        received = await receive(
            s,
            Intake(
                channel="telegram",
                reporter_ref="777",
                chat_id="777",
                text="我被网上的人骗了八百块钱，下面是转账截图",
                org_code="sch-a",
            ),
        )
        stored = await attachments.store(s, received.case, "photo", "image/jpeg", PHOTO)
        return received.case.id, stored.id


async def test_case_page_lists_and_opens_attachments(
    app: object, client: httpx.AsyncClient
) -> None:
    case_id, attachment_id = await _case_with_photo()
    await login(client, "counsellor.a")
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200 and 'id="attachments-panel"' in page.text
    opened = await client.get(f"/console/attachments/{attachment_id}")
    assert opened.status_code == 200 and opened.content == PHOTO
    assert opened.headers["content-type"] == "image/jpeg"
    async with session_scope() as s:
        viewed = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "attachment.viewed"))
        ).scalars()
        assert len(list(viewed)) == 1

    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(other, "counsellor.b")  # another school: the case does not exist for them
    assert (await other.get(f"/console/attachments/{attachment_id}")).status_code == 404
    auditor = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(auditor, "auditor.district")
    assert (await auditor.get(f"/console/attachments/{attachment_id}")).status_code == 403

"""Acknowledgement links (issue 13): they expire (setting, default 24 h), work once, and a
click without a login is recorded as "via link", never as the recipient; a signed-in person
is recorded as themself. An expired, used or forged link answers a clear Chinese page."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select

from escalation import ack
from escalation.models import Delivery, Escalation
from helpline.audit import AuditEvent
from helpline.db import session_scope, utcnow
from helpline.settings import reset_settings
from tests.escalation.test_end_to_end import _submit
from tests.support.web import csrf_from, login
from triage.models import StaffUser


async def _first_alert(case_id: int, clock) -> Delivery:  # noqa: ANN001
    from escalation.worker import Worker

    await Worker(clock).drain()
    async with session_scope() as session:
        return (
            (
                await session.execute(
                    select(Delivery)
                    .where(Delivery.case_id == case_id)
                    .order_by(Delivery.id)
                    .limit(1)
                )
            )
            .scalars()
            .one()
        )


async def _chain(case_id: int) -> Escalation:
    async with session_scope() as session:
        return (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()


async def _csrf(client) -> str:  # noqa: ANN001
    return csrf_from((await client.get("/console/login")).text)


async def _post(client, token: str):  # noqa: ANN001, ANN202
    await client.get(f"/escalation/ack/{token}")
    return await client.post(f"/escalation/ack/{token}", data={"csrf_token": await _csrf(client)})


async def test_link_without_login_is_recorded_as_via_link_and_works_once(
    wired: dict,
    client,
    clock,  # noqa: ANN001
) -> None:
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    assert alert.staff_id is not None
    token = ack.link_token(alert.id)
    done = await _post(client, token)
    assert done.status_code == 200 and "已确认" in done.text
    chain = await _chain(case_id)
    assert chain.state == "acked" and chain.acked_via == "link"
    assert chain.acked_by_id is None  # not the recipient: nobody was signed in
    async with session_scope() as session:
        event = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.action == "escalation.acknowledged")
            )
        ).scalar_one()
        assert event.actor == f"link:{alert.id}"
    again = await _post(client, token)
    assert again.status_code == 200 and 'data-result="used"' in again.text
    assert "已经用过" in again.text


async def test_signed_in_person_is_recorded_as_themself(wired: dict, client, clock) -> None:  # noqa: ANN001
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    await login(client, "lead.a")  # not the recipient of this alert (duty.a is)
    done = await _post(client, ack.link_token(alert.id))
    assert "已确认" in done.text
    async with session_scope() as session:
        lead = (
            await session.execute(select(StaffUser).where(StaffUser.username == "lead.a"))
        ).scalar_one()
        assert lead.id != alert.staff_id
    chain = await _chain(case_id)
    assert chain.acked_via == "link" and chain.acked_by_id == lead.id


async def test_expired_link_is_a_clear_page_and_changes_nothing(
    wired: dict,
    client,
    clock,  # noqa: ANN001
) -> None:
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    old = ack.link_token(alert.id, utcnow() - timedelta(hours=24, seconds=1))
    page = await client.get(f"/escalation/ack/{old}")
    assert page.status_code == 200 and 'data-result="expired"' in page.text
    assert "已过期" in page.text and "24 小时" in page.text and 'id="confirm-ack"' not in page.text
    answer = await client.post(f"/escalation/ack/{old}", data={"csrf_token": await _csrf(client)})
    assert answer.status_code == 200 and "已过期" in answer.text
    assert (await _chain(case_id)).state == "active"
    # Just inside the window it still works.
    fresh = ack.link_token(alert.id, utcnow() - timedelta(hours=23, minutes=59))
    assert "已确认" in (await _post(client, fresh)).text


async def test_expiry_is_a_setting(wired: dict, client, clock) -> None:  # noqa: ANN001
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    os.environ["HELPLINE_ACK_LINK_HOURS"] = "1"
    reset_settings()
    try:
        token = ack.link_token(alert.id, utcnow() - timedelta(minutes=61))
        page = await client.get(f"/escalation/ack/{token}")
        assert 'data-result="expired"' in page.text and "1 小时" in page.text
    finally:
        os.environ.pop("HELPLINE_ACK_LINK_HOURS")
        reset_settings()


async def test_forged_or_tampered_links_are_refused(wired: dict, client, clock) -> None:  # noqa: ANN001
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    token = ack.link_token(alert.id)
    ident, expires, mac = token.split(".")
    later = str(int(expires) + 86400 * 365)
    for bad in (
        f"{ident}.{later}.{mac}",  # expiry moved without the key
        f"{int(ident) + 1}.{expires}.{mac}",
        f"{ident}.{expires}.{'0' * 32}",
        "x.y.z",
        "1" * 40,
        f"{ident}.{'9' * 30}.{mac}",
    ):
        page = await client.get(f"/escalation/ack/{bad}")
        assert page.status_code == 404 and 'data-result="invalid"' in page.text, bad
        answer = await client.post(
            f"/escalation/ack/{bad}", data={"csrf_token": await _csrf(client)}
        )
        assert answer.status_code == 404, bad
    assert (await _chain(case_id)).state == "active"
    # A link of the old form (no expiry, before this change) is taken as expired.
    legacy = f"{alert.id}.{ack._mac(alert.id, ack.LINK_MAC)}"
    assert 'data-result="expired"' in (await client.get(f"/escalation/ack/{legacy}")).text


async def test_link_in_the_mail_expires_from_the_alert(wired: dict, clock) -> None:  # noqa: ANN001
    """The link an e-mail carries is the one the route checks, dated from the alert."""
    case_id = await _submit()
    alert = await _first_alert(case_id, clock)
    smtp = wired["smtp"]
    assert any(ack.link_token(alert.id, alert.created_at) in body for body in smtp.bodies())
    parsed = ack.parse_link(ack.link_token(alert.id, alert.created_at))
    assert parsed is not None and parsed.expires_at is not None
    assert abs((parsed.expires_at - alert.created_at).total_seconds() - 24 * 3600) < 1

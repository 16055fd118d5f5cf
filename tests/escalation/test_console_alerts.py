"""The in-console alert channel (issue 13): an alert to a staff member is stored for them,
shown at once on any console page (headless Chromium, no reload), with a tone and a desktop
notification (both stubbed in the page and checked), acknowledged there (the chain stops as
on every other path); without JavaScript the alerts page lists them with a form."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

import helpline
from escalation import config_import
from escalation.models import Delivery, Escalation
from escalation.worker import Worker
from helpline.db import session_scope
from tests.browser_support import (  # noqa: F401 - fixtures
    SOUND_AND_NOTIFICATION_STUBS,
    chromium,
    live_server,
)
from tests.escalation.conftest import TEACHER_ABUSE
from tests.support.web import DEMO_PASSWORD, csrf_from, login
from triage.intake import Intake, receive
from triage.models import StaffUser

EMERGENCY = "我现在站在学校楼顶，马上就跳下去"
# A policy that alerts duty.a whatever the hour (the demo roster has them by day only).
POLICY = {
    "org": "sch-a",
    "name": "控制台测试",
    "urgencies": ["emergency", "high"],
    "repeat": 1,
    "steps": [{"notify": "staff", "staff": "duty.a", "wait_minutes": 5}],
}


@pytest.fixture(autouse=True)
def console_first(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The demo's order (scripts/run.sh): the console first, then e-mail."""
    from helpline.settings import reset_settings

    monkeypatch.setenv("HELPLINE_ALERT_CHANNEL_ORDER", "console,email,telegram")
    reset_settings()
    yield
    monkeypatch.delenv("HELPLINE_ALERT_CHANNEL_ORDER")
    reset_settings()


async def _policy() -> None:
    async with session_scope() as session:
        await config_import.add_policy(session, POLICY)


async def _case(text: str, ref: str) -> int:
    async with session_scope() as session:
        got = await receive(
            session,
            Intake(channel="web", reporter_ref=ref, text=text, org_code="sch-a", new_case=True),
        )
        return got.case.id


async def _staff_id(username: str) -> int:
    async with session_scope() as session:
        return (
            await session.execute(select(StaffUser.id).where(StaffUser.username == username))
        ).scalar_one()


async def _chain(case_id: int) -> Escalation:
    async with session_scope() as session:
        return (
            await session.execute(select(Escalation).where(Escalation.case_id == case_id))
        ).scalar_one()


async def test_console_alert_is_stored_listed_and_acknowledged_without_js(
    db_url: str,
    client,  # noqa: ANN001
) -> None:
    await _policy()
    case_id = await _case(TEACHER_ABUSE, "console-1")
    await Worker().drain()
    duty = await _staff_id("duty.a")
    async with session_scope() as session:
        stored = (
            (
                await session.execute(
                    select(Delivery).where(
                        Delivery.case_id == case_id, Delivery.channel == "console"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [(d.staff_id, d.state) for d in stored] == [(duty, "sent")]  # delivered = stored
    async with session_scope() as session:
        mail = (
            await session.execute(
                select(Delivery).where(Delivery.case_id == case_id, Delivery.channel == "email")
            )
        ).scalar_one()
    # Stored is not seen: the e-mail goes out beside it (here it fails: no SMTP server).
    assert mail.state != "standby" and mail.attempts >= 1

    # Someone else cannot see or acknowledge duty.a's alert.
    await login(client, "lead.a")
    assert "没有待确认的通知" in (await client.get("/console/alerts")).text
    page = await client.get("/console/alerts")
    other = await client.post(
        f"/console/alerts/{stored[0].id}/acknowledge", data={"csrf_token": csrf_from(page.text)}
    )
    assert other.status_code == 303 and "not_yours" in other.headers["location"]
    assert (await _chain(case_id)).state == "active"

    await login(client, "duty.a")
    page = await client.get("/console/alerts")
    assert page.status_code == 200 and f'data-alert="{stored[0].id}"' in page.text
    assert "受限个案" in page.text  # sexual abuse: restricted, no label, no text, no names
    for word in ("班主任", "刘建国", "办公室", "赵值班"):
        assert word not in page.text
    live = (await client.get("/console/alerts/live")).json()
    assert [a["id"] for a in live["alerts"]] == [stored[0].id] and live["csrf_token"]
    assert "<script" in page.text and "/console/alerts/live.js" in page.text
    done = await client.post(
        f"/console/alerts/{stored[0].id}/acknowledge", data={"csrf_token": csrf_from(page.text)}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("msg=acknowledged")
    chain = await _chain(case_id)
    assert chain.state == "acked" and chain.acked_via == "console" and chain.acked_by_id == duty
    page = await client.get(done.headers["location"])
    assert "已确认" in page.text and "没有待确认的通知" in page.text
    again = await client.post(
        f"/console/alerts/{stored[0].id}/acknowledge",
        data={"csrf_token": csrf_from(page.text)},
        headers={"Accept": "application/json"},
    )
    assert again.json()["result"] == "used"


STUBS = SOUND_AND_NOTIFICATION_STUBS


@pytest.mark.browser
async def test_new_alert_appears_live_and_is_acknowledged_in_the_page(
    db_url: str,
    live_server,  # noqa: F811, ANN001
    chromium,  # noqa: F811, ANN001
) -> None:
    await _policy()
    async with session_scope() as session:
        secret = (
            await session.execute(
                select(StaffUser.totp_secret).where(StaffUser.username == "duty.a")
            )
        ).scalar_one()
    duty = await _staff_id("duty.a")
    server = await live_server()  # its worker runs the escalation; the page polls
    context = await chromium.new_context(locale="zh-CN")
    await context.add_init_script(STUBS)
    page = await context.new_page()
    await page.goto(f"{server.url}/console/login")
    await page.fill("#username", "duty.a")
    await page.fill("#password", DEMO_PASSWORD)
    await page.fill("#totp", pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{server.url}/console")
    await page.wait_for_timeout(500)
    assert await page.locator("#live-alerts li").count() == 0

    # A child writes through the real web form, in another tab.
    form = await context.new_page()
    await form.goto(f"{server.url}/report")
    await form.fill("#what", EMERGENCY)
    await form.select_option("#school", "sch-a")
    await form.click("#send")
    receipt = await form.locator("#receipt-code").inner_text()
    assert receipt

    # The console page, never reloaded, shows the alert within seconds.
    item = page.locator("#live-alerts li[data-alert]")
    await item.first.wait_for(timeout=20_000)
    text = await item.first.inner_text()
    assert "需要处理" in text and EMERGENCY not in text
    notes = await page.evaluate("window.__notes")
    assert len(notes) == 1 and "需要处理" in notes[0]["title"]
    assert EMERGENCY not in notes[0]["body"]
    assert await page.evaluate("window.__tones") >= 1
    # The same alert on the next page is shown again, but not announced twice.
    await page.goto(f"{server.url}/console/deadlines")
    await page.locator("#live-alerts li[data-alert]").first.wait_for(timeout=10_000)
    assert len(await page.evaluate("window.__notes")) == 0  # a new page, nothing new to announce

    await page.locator("#live-alerts button.live-ack").first.click()
    await page.locator('#live-alerts li[data-result="acknowledged"]').wait_for(timeout=10_000)
    assert "已确认" in await page.locator("#live-alerts").inner_text()
    await asyncio.sleep(0.2)
    await server.shutdown()

    async with session_scope() as session:
        chain = (await session.execute(select(Escalation))).scalars().one()
    assert chain.state == "acked" and chain.acked_via == "console" and chain.acked_by_id == duty


def test_live_script_has_no_inline_secrets() -> None:
    """The script is static: ids and words come from the JSON it polls, never baked in. The
    tone and the notification are the kernel's shared live script (helpline/static/live.js,
    also used by triage's live queue), which the alerts script calls."""
    from escalation.console_routes import SCRIPT
    from helpline.web import CONSOLE_SCRIPTS, LIVE_SCRIPT

    shared = (Path(helpline.__file__).parent / "static" / "live.js").read_text(encoding="utf-8")
    body = SCRIPT.read_text(encoding="utf-8")
    assert "Notification" in shared and "AudioContext" in shared
    assert "live.tone()" in body and "live.desktop(" in body and "HelplineLive" in body
    assert CONSOLE_SCRIPTS[0] == LIVE_SCRIPT  # loaded before the scripts that use it
    for script in (body, shared):
        assert not re.search(r"csrf_token\s*=\s*['\"]\w", script)

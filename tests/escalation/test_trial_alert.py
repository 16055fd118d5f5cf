"""`helpline alerts test --staff NAME` and the console buttons (issue 13): a test alert to
every address of a person, marked as a test, no case content, result per channel."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from helpline.db import dispose_engine, session_scope
from helpline.settings import PROJECT_ROOT
from tests.support.smtp import SmtpSink
from tests.support.web import csrf_from, login
from triage.models import StaffUser


def _cli(smtp: SmtpSink, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELPLINE_SMTP_HOST": "127.0.0.1", "HELPLINE_SMTP_PORT": str(smtp.port)}
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", "alerts", "test", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_sends_a_marked_test_to_every_channel(db_url: str) -> None:
    await dispose_engine()
    with SmtpSink() as smtp:
        done = _cli(smtp, "--staff", "duty.a")
        assert done.returncode == 0, done.stdout + done.stderr
        lines = dict(line.split(None, 1) for line in done.stdout.strip().splitlines())
        assert lines["console"].startswith("delivered")
        assert lines["email"].startswith("delivered")
        assert lines["telegram"].startswith("not_configured")
        ((rcpt, message, _),) = smtp.messages
        assert rcpt == ["duty.a@demo.invalid"]
        assert "测试通知" in message["Subject"] and "不是真实个案" in message["Subject"]
        body = message.get_content()
        assert "个案编号" not in body and "赵值班" not in body

        smtp.refuse = True
        failed = _cli(smtp, "--staff", "duty.a")
        assert failed.returncode == 1 and "failed" in failed.stdout and "smtp_" in failed.stdout
        unknown = _cli(smtp, "--staff", "nobody")
        assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
        assert "Traceback" not in unknown.stderr


async def test_console_buttons_for_an_admin_and_for_oneself(client) -> None:  # noqa: ANN001
    with SmtpSink() as smtp:
        os.environ["HELPLINE_SMTP_PORT"] = str(smtp.port)
        from helpline.settings import reset_settings

        reset_settings()
        try:
            async with session_scope() as session:
                duty = (
                    await session.execute(select(StaffUser).where(StaffUser.username == "duty.a"))
                ).scalar_one()
            await login(client, "admin.district")
            page = await client.get("/console/admin/staff")
            assert f"/console/admin/staff/{duty.id}/test-alert" in page.text
            answer = await client.post(
                f"/console/admin/staff/{duty.id}/test-alert",
                data={"csrf_token": csrf_from(page.text)},
            )
            assert answer.status_code == 200
            assert 'data-kind="email" data-outcome="delivered"' in answer.text
            assert 'data-kind="console" data-outcome="delivered"' in answer.text
            assert len(smtp.messages) == 1

            await login(client, "duty.a")
            page = await client.get("/console/alerts")
            mine = await client.post(
                "/console/alerts/test", data={"csrf_token": csrf_from(page.text)}
            )
            assert mine.status_code == 200 and "duty.a" in mine.text
            assert len(smtp.messages) == 2
            # Not an administrator: no test for someone else.
            denied = await client.post(
                f"/console/admin/staff/{duty.id}/test-alert",
                data={"csrf_token": csrf_from(page.text)},
            )
            assert denied.status_code == 403
        finally:
            os.environ.pop("HELPLINE_SMTP_PORT")
            reset_settings()

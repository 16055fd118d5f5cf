"""`helpline serve` says loudly at start when a configured channel cannot be reached (issue 13):
the SMTP server not listening, a Telegram token set but the Bot API away or refusing it, a group
channel's host down. The words name settings and channel names, never addresses or tokens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from escalation.channel_check import channel_problems
from helpline.db import dispose_engine, session_scope
from helpline.settings import PROJECT_ROOT, reset_settings
from tests.escalation.test_live_key_rotation import _wait_http
from tests.support.processes import free_port
from tests.support.telegram import TelegramStandin

TOKEN = "123456:standin-token"


def _set(**values: str) -> None:
    for name, value in values.items():
        os.environ[f"HELPLINE_{name}"] = value
    reset_settings()


def _unset(*names: str) -> None:
    for name in names:
        os.environ.pop(f"HELPLINE_{name}", None)
    reset_settings()


async def test_every_unreachable_channel_is_named_without_its_address(db_url: str) -> None:
    from escalation import config_import

    dead = free_port()
    async with session_scope() as session:
        await config_import.add_channel(
            session,
            {
                "org": "sch-a",
                "name": "duty-robot",
                "kind": "wecom",
                "url": f"http://127.0.0.1:{dead}/cgi-bin/webhook/send?key=SECRETKEY",
            },
        )
    _set(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port()),
        TELEGRAM_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
    )
    try:
        problems = await channel_problems()
    finally:
        _unset("SMTP_HOST", "SMTP_PORT", "TELEGRAM_TOKEN", "TELEGRAM_BASE_URL")
    text = "\n".join(problems)
    assert len(problems) == 3, text
    assert "SMTP" in text and "HELPLINE_SMTP_HOST" in text
    assert "Telegram" in text and "does not answer" in text
    assert "'duty-robot' (wecom)" in text
    for leak in ("127.0.0.1", str(dead), "SECRETKEY", TOKEN, "standin-token"):
        assert leak not in text


async def test_reachable_channels_raise_no_warning(db_url: str) -> None:
    from tests.support.smtp import SmtpSink

    with SmtpSink() as smtp, TelegramStandin(TOKEN) as api:
        _set(SMTP_PORT=str(smtp.port), TELEGRAM_TOKEN=TOKEN, TELEGRAM_BASE_URL=api.base_url)
        try:
            assert await channel_problems() == []
            # The token refused by the Bot API is its own warning.
            _set(TELEGRAM_TOKEN="999:wrong-token")
            (problem,) = await channel_problems()
            assert "refuses HELPLINE_TELEGRAM_TOKEN" in problem and "wrong-token" not in problem
        finally:
            _unset("SMTP_PORT", "TELEGRAM_TOKEN", "TELEGRAM_BASE_URL")


async def test_serve_warns_loudly_at_start(db_url: str, tmp_path) -> None:  # noqa: ANN001
    await dispose_engine()
    port, smtp_port = free_port(), free_port()
    env = {**os.environ, "HELPLINE_PORT": str(port), "HELPLINE_SMTP_PORT": str(smtp_port)}
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "assembly.cli", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await _wait_http(f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.seek(0)
        output = log.read()
        log.close()
    assert "WARNING: e-mail alerts cannot be delivered" in output, output[-2000:]
    assert "in-console channel still works" in output
    assert str(smtp_port) not in output

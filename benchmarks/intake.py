"""Intake throughput: many reporters at once through the Telegram stand-in and the web form.

    .venv/bin/python benchmarks/intake.py [--telegram 200] [--web 200] [--database-url URL]

Builds a scratch database (SQLite in a temp dir; for PostgreSQL pass the URL of an EMPTY
database), loads the demo configuration, runs the real bot (python-telegram-bot, polling the
local Bot API stand-in over HTTP) and the web form (in-process ASGI client) at the same time.
Each reporter sends two messages. Afterwards it checks that every message is stored, each
reporter in their own case, nothing mixed; then prints one JSON object (docs/intake.md).
Also measures the emergency reply time through the stand-in on the loaded system.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The script's folder holds benchmarks named like standard modules (queue.py): use the root.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

EMERGENCY = "我今晚就从楼顶跳下去"


async def _web_emergency_ms(client: object) -> float:
    """From the child's press of "send" to the receipt page with the emergency numbers."""
    from tests.support.web import csrf_from

    page = await client.get("/report")  # type: ignore[attr-defined]
    form = {"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": EMERGENCY}
    started = time.monotonic()
    answer = await client.post("/report", data=form)  # type: ignore[attr-defined]
    elapsed = (time.monotonic() - started) * 1000
    assert answer.status_code == 200 and "110" in answer.text, "no emergency answer"
    return elapsed


async def main(n_telegram: int, n_web: int, url: str | None) -> dict[str, object]:
    import httpx

    from helpline.db import dispose_engine
    from tests.support.load import check, run_load, running_bot, scratch_app
    from tests.support.telegram import TelegramStandin

    app = await scratch_app(url)
    with TelegramStandin() as api:
        async with running_bot(api):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                result = await run_load(api, client, n_telegram, n_web)
                await check(n_telegram, n_web)
                started = time.monotonic()
                api.push_update(api.text_update(4242, EMERGENCY))
                (reply,) = await asyncio.to_thread(api.wait_for, "sendMessage", 4242)
                emergency_ms = (reply.at - started) * 1000
                web_emergency_ms = await _web_emergency_ms(client)
    await dispose_engine()
    return {
        "database": "postgresql" if url else "sqlite",
        "telegram_reporters": n_telegram,
        "web_reporters": n_web,
        "messages": result.messages,
        "seconds": round(result.seconds, 2),
        "messages_per_second": round(result.per_second, 1),
        "messages_per_minute": round(result.per_second * 60),
        "emergency_reply_ms_after_load": round(emergency_ms, 1),
        "web_emergency_reply_ms_after_load": round(web_emergency_ms, 1),
        "checked": "every message stored, one case per reporter, nothing mixed",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", type=int, default=200)
    parser.add_argument("--web", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.telegram, args.web, args.database_url)), indent=2))

"""SQL statements (and a profile) of ONE web report and ONE Telegram message, end to end.

    .venv/bin/python benchmarks/report_statements.py [--database-url URL] [--profile N] [--show]

Builds a scratch database (SQLite in a temp dir; for PostgreSQL pass the URL of an EMPTY
database), loads the demo configuration, posts a few warm-up reports, then counts the SQL
statements (a SQLAlchemy `before_cursor_execute` listener) of one more web report (POST
/report, an ordinary bullying report and an emergency one) and of one Telegram message
through the real bot and the local Bot API stand-in. `--show` prints each statement's first
line; `--profile N` runs N web reports under cProfile and prints the top functions by
cumulative time. Prints JSON (docs/performance.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

ORDINARY = "班上同学经常欺负我，今天又把我的书包扔进了垃圾桶"
EMERGENCY = "我今晚就从楼顶跳下去"


async def main(url: str | None, show: bool, profile: int) -> dict[str, object]:
    import httpx

    from helpline.db import dispose_engine, get_engine
    from helpline.sqlcount import StatementCounter
    from tests.support.load import running_bot, scratch_app
    from tests.support.telegram import TelegramStandin
    from tests.support.web import csrf_from

    app = await scratch_app(url)
    result: dict[str, object] = {"database": get_engine().dialect.name}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        csrf = csrf_from((await client.get("/report")).text)

        async def post(text: str) -> None:
            form = {"csrf_token": csrf, "reporter_kind": "student", "what": text}
            answer = await client.post("/report", data=form)
            assert answer.status_code == 200, answer.status_code

        for _ in range(2):  # warm-up: first-use loads (models, rules, caches)
            await post(ORDINARY)
            await post(EMERGENCY)
        for name, text in (("web_report", ORDINARY), ("web_report_emergency", EMERGENCY)):
            with StatementCounter(get_engine()) as counter:
                await post(text)
            result[name] = counter.count
            if show:
                print(f"-- {name}: {counter.count}", file=sys.stderr)
                for statement in counter.statements:
                    print("   " + statement.splitlines()[0][:150], file=sys.stderr)
        if profile:
            profiler = cProfile.Profile()
            started = time.monotonic()
            profiler.enable()
            for _ in range(profile):
                await post(ORDINARY)
            profiler.disable()
            result["profile_ms_per_report"] = round(
                (time.monotonic() - started) * 1000 / profile, 1
            )
            out = io.StringIO()
            order = os.environ.get("PROFILE_SORT", "cumulative")
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(45)
            print(out.getvalue(), file=sys.stderr)

    with TelegramStandin() as api:
        async with running_bot(api):

            async def send(chat: int, text: str) -> None:
                before = len(api.calls("sendMessage", chat))
                api.push_update(api.text_update(chat, text))
                deadline = time.monotonic() + 60
                while len(api.calls("sendMessage", chat)) <= before:
                    assert time.monotonic() < deadline, "no answer from the bot"
                    await asyncio.sleep(0.02)

            await send(700_001, ORDINARY)  # warm-up
            await asyncio.sleep(0.5)
            with StatementCounter(get_engine()) as counter:
                await send(700_002, ORDINARY)
                await asyncio.sleep(0.3)  # what is written after the answer is sent
            result["telegram_message"] = counter.count
            if show:
                print(f"-- telegram_message: {counter.count}", file=sys.stderr)
                for statement in counter.statements:
                    print("   " + statement.splitlines()[0][:150], file=sys.stderr)
    await dispose_engine()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.database_url, args.show, args.profile)), indent=2))

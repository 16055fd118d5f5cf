"""200 reporters writing at once through the Bot API stand-in and the web form."""

from __future__ import annotations

import os

import httpx
import pytest

from bot import texts
from tests.bot.conftest import RunningBot
from tests.support.load import check, run_load

N = int(os.environ.get("HELPLINE_TEST_REPORTERS", "200"))


@pytest.mark.slow
async def test_200_reporters_at_once(
    polling_bot: RunningBot, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # All web reporters come from one test address: lift the per-address limits for this test.
    limits = dict(texts.limits())
    limits["web_reports"] = limits["web_followups"] = {"limit": 10_000, "window_seconds": 60}
    monkeypatch.setattr(texts, "limits", lambda: limits)
    result = await run_load(polling_bot.api, client, n_telegram=N, n_web=N)
    await check(N, N)
    print(f"\n{result.messages} messages in {result.seconds:.1f}s: {result.per_second:.0f}/s")

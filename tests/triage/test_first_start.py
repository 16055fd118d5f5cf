"""The first start (issue 17): the service answers while the model trains. A message that
arrives before the model is stored, answered and analysed by the rules alone, queued, and
analysed again by the model once it is hot-loaded into the running process; urgency only
goes up; staff see until when the analysis is rules-only, children never do."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

import nlu
from helpline.audit import AuditEvent
from helpline.db import session_scope
from helpline.settings import reset_settings
from nlu.labels import LABELS
from nlu.warmup import TrainingStatus, clear_status, write_status
from tests.support.web import csrf_from, login
from tests.triage.support import BULLYING, load_case, new_case
from triage.models import Case, Message, NluBacklog
from triage.reanalysis import reanalyse_backlog, reanalyse_when_ready

EMERGENCY = "我今晚就从楼顶跳下去"
QUIET = "最近心情不太好，不知道该怎么办"  # the rules alone find nothing here


@pytest.fixture
def built_model() -> Path:
    """The project's trained model (the one the rest of the suite uses)."""
    path = Path(os.environ["HELPLINE_MODEL_DIR"]) / "spacy"
    assert (path / "meta.json").exists(), "the suite needs the trained model"
    return path


@pytest.fixture
def no_model(
    db_url: str, built_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A model folder where nothing is built yet: the first start."""
    root = tmp_path / "models"
    monkeypatch.setenv("HELPLINE_MODEL_DIR", str(root))
    monkeypatch.setattr(nlu, "MODEL_CHECK_SECONDS", 0.0)
    reset_settings()
    nlu.reset_default_pipeline()
    yield root
    monkeypatch.undo()
    reset_settings()
    nlu.reset_default_pipeline()


def _scores(**values: float) -> dict[str, float]:
    return {label: values.get(label, 0.0) for label in LABELS} | {
        f"urgency:{key[8:]}": value for key, value in values.items() if key.startswith("urgency_")
    }


class StandInBackend:
    """A stand-in classifier (the decision logic on top is the real one): reads a wish to die
    in texts with 心情, everything else as general and not urgent."""

    name = "stand-in"

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        crisis = _scores(crisis=0.95, general=0.05, urgency_high=0.9)
        calm = _scores(general=0.99, urgency_low=0.99)
        return [crisis if "心情" in text else calm for text in texts]


async def _events(action: str) -> list[AuditEvent]:
    async with session_scope() as s:
        return list(
            (await s.execute(select(AuditEvent).where(AuditEvent.action == action))).scalars()
        )


async def _backlog() -> list[int]:
    async with session_scope() as s:
        return list((await s.execute(select(NluBacklog.message_id))).scalars())


async def _message_analysis(case_id: int) -> dict:
    async with session_scope() as s:
        (message,) = (await s.execute(select(Message).where(Message.case_id == case_id))).scalars()
        return json.loads(message.analysis)


async def test_a_message_before_the_model_is_answered_and_analysed_again_once_it_is_loaded(
    client: httpx.AsyncClient, no_model: Path, built_model: Path
) -> None:
    assert nlu.default_pipeline().rules_only
    page = await client.get("/report")
    response = await client.post(
        "/report",
        data={"csrf_token": csrf_from(page.text), "reporter_kind": "student", "what": EMERGENCY},
    )
    # Answered as any emergency is: help numbers first, the duty officer alerted, a receipt.
    assert response.status_code == 200
    assert "400-161-9995" in response.text and 'id="receipt-code"' in response.text
    assert "值班老师已经收到提醒" in response.text
    assert "语言模型" not in response.text  # the warm-up is the staff's business
    async with session_scope() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()).limit(1))).scalar_one()
    assert case.urgency == "emergency" and case.labels == ["crisis"]  # the crisis rules
    analysis = await _message_analysis(case.id)
    assert analysis["rules_only"] is True and analysis["urgency"] == "emergency"
    assert set(analysis["scores"].values()) == {0.0}  # no classifier took part
    assert await _backlog() != []
    (received,) = await _events("message.received")
    assert received.details["rules_only"] is True

    # Nothing changes while the model is missing.
    assert await reanalyse_when_ready() == 0 and await _backlog() != []

    # The training finishes: the model folder appears (as nlu.train installs it, in one step).
    staging = no_model / ".spacy-staging"
    shutil.copytree(built_model, staging)
    staging.rename(no_model / "spacy")
    done = 0
    for _ in range(600):  # the hot load runs in a thread; 2-7 s, more on a loaded machine
        done = await reanalyse_when_ready()
        if done:
            break
        await asyncio.sleep(0.1)
    assert done == 1 and not nlu.default_pipeline().rules_only
    assert await _backlog() == []
    analysis = await _message_analysis(case.id)
    assert "rules_only" not in analysis and max(analysis["scores"].values()) > 0
    after = await load_case(case.id)
    assert after.urgency == "emergency" and "crisis" in after.labels
    assert "rules_only" not in json.loads(after.analysis)  # the case page shows the model's
    (event,) = await _events("case.reanalysed")
    assert event.actor == "system" and event.object_id == str(case.id)
    assert event.details["previous_urgency"] == "emergency"
    assert event.details["urgency"] == "emergency"
    assert EMERGENCY not in json.dumps(event.details, ensure_ascii=False)
    # Done once: a second round finds nothing to do.
    assert await reanalyse_when_ready() == 0


async def test_the_model_is_hot_loaded_into_the_running_process(
    no_model: Path, built_model: Path
) -> None:
    rules = nlu.default_pipeline()
    assert rules.rules_only and nlu.analyze(QUIET).rules_only
    assert nlu.load_model_if_built() is False  # nothing built yet
    shutil.copytree(built_model, no_model / "spacy")
    # The next analysis starts the load in a thread and does not wait for it.
    assert nlu.analyze(QUIET).labels == ["general"]
    for _ in range(600):
        if not nlu.default_pipeline().rules_only:
            break
        await asyncio.sleep(0.1)
    loaded = nlu.default_pipeline()
    assert not loaded.rules_only and loaded.backend.name == "spacy"
    assert not nlu.analyze(EMERGENCY).rules_only
    assert nlu.load_model_if_built() is True  # already loaded: nothing more happens
    assert nlu.default_pipeline() is loaded


async def test_the_model_only_raises_a_case_and_says_when_it_read_less(
    app: object, no_model: Path
) -> None:
    quiet = await new_case(QUIET, ref="quiet")
    bullying = await new_case(BULLYING, ref="bullying")
    assert (await load_case(quiet)).labels == ["general"]
    before = await load_case(bullying)
    assert before.urgency == "high"  # the rules alone: a harm label means high
    assert len(await _backlog()) == 2

    quiet_before = await load_case(quiet)
    async with session_scope() as s:
        assert await reanalyse_backlog(s, nlu.Pipeline(StandInBackend())) == 2
    raised = await load_case(quiet)
    assert raised.labels == ["crisis"] and raised.urgency == "high"
    # The first-response deadline comes forward, counted from when the child wrote.
    assert raised.first_response_due < quiet_before.first_response_due
    assert raised.last_activity_at == quiet_before.last_activity_at
    by_case = {e.object_id: e.details for e in await _events("case.reanalysed")}
    assert by_case[str(quiet)]["raised"] is True
    assert by_case[str(quiet)]["previous_labels"] == ["general"]
    # The bullying case keeps what the rules gave it; the audit says the model read less.
    kept = await load_case(bullying)
    assert kept.urgency == "high" and kept.labels == ["bullying"]
    assert by_case[str(bullying)]["model_urgency"] in {"medium", "low"}
    assert by_case[str(bullying)]["model_lower"] is True
    assert by_case[str(bullying)]["raised"] is False
    assert by_case[str(quiet)]["model_lower"] is False
    assert await _backlog() == []


async def test_staff_see_until_when_the_analysis_is_rules_only(
    client: httpx.AsyncClient, no_model: Path
) -> None:
    nlu.default_pipeline()
    await new_case(EMERGENCY, ref="banner")
    await login(client, "counsellor.a")
    page = await client.get("/console")
    assert "语言模型尚未训练" in page.text and "1 条训练期间的消息等待模型复核" in page.text
    started = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 22:00 Beijing time
    # No epoch done yet: the typical duration, 7 minutes.
    status = TrainingStatus(started, 0, 24, os.getpid(), 420.0)
    write_status(nlu.default_pipeline().paths, status)
    try:
        page = await client.get("/console")
        assert "预计 2026-12-07 22:07（北京时间）前新消息仅按规则分析" in page.text
    finally:
        clear_status(nlu.default_pipeline().paths)
    public = await client.get("/report")
    assert "语言模型" not in public.text


async def test_monitors_read_the_analysis_mode_on_readyz(
    client: httpx.AsyncClient, no_model: Path, built_model: Path
) -> None:
    nlu.default_pipeline()
    started = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    write_status(nlu.default_pipeline().paths, TrainingStatus(started, 0, 24, os.getpid(), 420.0))
    try:
        body = (await client.get("/readyz")).json()
    finally:
        clear_status(nlu.default_pipeline().paths)
    assert body["nlu"] == {
        "analysis": "rules_only",
        "model_expected_at": "2026-12-07T14:07:00+00:00",
    }
    shutil.copytree(built_model, no_model / "spacy")
    assert nlu.load_model_if_built()
    body = (await client.get("/readyz")).json()
    assert body["nlu"] == {"analysis": "model", "model_expected_at": None}


def test_the_estimate_follows_the_epochs() -> None:
    started = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    fresh = TrainingStatus(started, 0, 24, os.getpid(), 420.0)
    assert (fresh.expected_end() - started).total_seconds() == 420.0
    half = TrainingStatus(started, 12, 24, os.getpid(), 420.0)
    now = datetime(2026, 12, 7, 14, 3, tzinfo=UTC)  # 3 minutes for half the epochs
    assert half.expected_end(now) == datetime(2026, 12, 7, 14, 6, tzinfo=UTC)
    gone = TrainingStatus(started, 3, 24, 2**22 + 12345, 420.0)  # no such process
    assert fresh.running() and not gone.running()

"""The Rasa backend: the exported project (always), the HTTP client against small local
servers (always), and the real Rasa server (when HELPLINE_TEST_RASA=1; CI sets it).

The real-server tests run scripts/rasa/{setup,train,serve,stop}.sh once per session. They
keep the model in the repository's var/rasa (not the per-session temporary var/) so that an
unchanged training set is not retrained on every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from helpline.settings import PROJECT_ROOT
from nlu.backends import BackendUnavailable, split_scores
from nlu.labels import LABELS, URGENCIES, URGENCY_KEYS
from nlu.normalize import normalize
from nlu.paths import NluPaths
from nlu.rasa_backend import RasaBackend, scores_from_ranking
from nlu.rasa_export import (
    export_project,
    group_examples,
    intent_name,
    parse_intent_name,
)
from nlu.training_data import load_training_examples
from tests.support.processes import free_port

SCRIPTS = PROJECT_ROOT / "scripts" / "rasa"
RASA_ENABLED = os.environ.get("HELPLINE_TEST_RASA") == "1"
needs_rasa = pytest.mark.skipif(
    not RASA_ENABLED,
    reason="real Rasa server tests need HELPLINE_TEST_RASA=1 (installs rasa 3.6 in its own "
    "Python 3.10 venv, trains and serves it; CI sets it)",
)


# --- the exported project ---------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(nlu_paths: NluPaths, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rasa_project")
    export_project(out, nlu_paths.train_dir, nlu_paths.userdict)
    return out


def test_config_pipeline(exported: Path) -> None:
    config = yaml.safe_load((exported / "config.yml").read_text(encoding="utf-8"))
    assert config["language"] == "zh"
    assert config["policies"] == []
    steps = config["pipeline"]
    assert [s["name"] for s in steps] == [
        "JiebaTokenizer",
        "CountVectorsFeaturizer",
        "CountVectorsFeaturizer",
        "DIETClassifier",
    ]
    tokenizer, words, chars, diet = steps
    assert tokenizer["intent_tokenization_flag"] is True
    assert tokenizer["intent_split_symbol"] == "+"
    assert tokenizer["dictionary_path"] == "jieba"
    assert (exported / "jieba" / "userdict.txt").is_file()
    assert words["analyzer"] == "word"
    assert (chars["analyzer"], chars["min_ngram"], chars["max_ngram"]) == ("char_wb", 1, 4)
    assert isinstance(diet["random_seed"], int)
    assert diet["ranking_length"] == 0


def test_nlu_yaml_is_merged_and_complete(exported: Path, nlu_paths: NluPaths) -> None:
    doc = yaml.safe_load((exported / "data" / "nlu.yml").read_text(encoding="utf-8"))
    blocks = doc["nlu"]
    intents = [b["intent"] for b in blocks]
    assert len(intents) == len(set(intents)), "one block per intent"
    assert all("metadata" not in b for b in blocks)
    texts = [
        line[2:] for b in blocks for line in b["examples"].splitlines() if line.startswith("- ")
    ]
    grouped, _ = group_examples(load_training_examples(nlu_paths.train_dir))
    assert len(texts) == sum(len(v) for v in grouped.values())
    assert len(texts) == len(set(texts))
    # Every example is normalised like a message the pipeline sends to the backend.
    assert all(normalize(t) == t for t in texts)
    # The file round-trips through the same parser Rasa's Markdown-in-YAML examples use.
    assert set(intents) == set(grouped)


def test_every_intent_in_domain(exported: Path) -> None:
    domain = yaml.safe_load((exported / "domain.yml").read_text(encoding="utf-8"))
    doc = yaml.safe_load((exported / "data" / "nlu.yml").read_text(encoding="utf-8"))
    assert sorted(b["intent"] for b in doc["nlu"]) == domain["intents"]
    for name in domain["intents"]:
        labels, urgency = parse_intent_name(name)
        assert labels and urgency in URGENCIES


def test_export_is_reproducible(exported: Path, nlu_paths: NluPaths, tmp_path: Path) -> None:
    export_project(tmp_path, nlu_paths.train_dir, nlu_paths.userdict)
    for name in ("config.yml", "domain.yml", "data/nlu.yml"):
        assert (tmp_path / name).read_bytes() == (exported / name).read_bytes()


def test_intent_names_round_trip() -> None:
    name = intent_name(("crisis", "bullying"), "high")
    assert name == "bullying+crisis+urgency_high"
    assert parse_intent_name(name) == (("bullying", "crisis"), "high")
    assert parse_intent_name("fraud") == (("fraud",), None)
    for bad in ("crisis+urgency_soon", "greet+urgency_low", "general+crisis+urgency_low"):
        with pytest.raises(ValueError):
            parse_intent_name(bad)


# --- mapping and the HTTP client ----------------------------------------------------------


def test_scores_sum_confidences_per_label() -> None:
    ranking = [
        {"name": "bullying+crisis+urgency_high", "confidence": 0.5},
        {"name": "crisis+urgency_emergency", "confidence": 0.3},
        {"name": "bullying+urgency_medium", "confidence": 0.15},
        {"name": "general+urgency_low", "confidence": 0.05},
    ]
    scores = scores_from_ranking(ranking)
    assert scores["crisis"] == pytest.approx(0.8)
    assert scores["bullying"] == pytest.approx(0.65)
    assert scores["general"] == pytest.approx(0.05)
    assert scores["fraud"] == 0.0
    assert scores["urgency:emergency"] == pytest.approx(0.3)
    assert scores["urgency:high"] == pytest.approx(0.5)
    categories, urgency = split_scores(scores)  # the pipeline accepts every key
    assert set(categories) == set(LABELS) and set(urgency) <= set(URGENCIES)


class _StubRasa(BaseHTTPRequestHandler):
    """A tiny HTTP server answering like a broken or foreign Rasa server."""

    status = 200
    body: dict = {}

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_server() -> Iterator[tuple[str, type[_StubRasa]]]:
    handler = type("Handler", (_StubRasa,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_server_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with RasaBackend(url, timeout=2) as backend, pytest.raises(BackendUnavailable) as info:
        backend.predict(["我今晚就从楼顶跳下去"])
    message = str(info.value)
    assert url in message and "serve.sh" in message
    assert "楼顶" not in message  # never the message text


def test_http_error_status(stub_server: tuple[str, type[_StubRasa]]) -> None:
    url, handler = stub_server
    handler.status, handler.body = 500, {"error": "boom"}
    with RasaBackend(url) as backend, pytest.raises(BackendUnavailable, match="HTTP 500"):
        backend.predict(["你好"])


def test_foreign_model_is_rejected(stub_server: tuple[str, type[_StubRasa]]) -> None:
    url, handler = stub_server
    handler.body = {"intent_ranking": [{"name": "greet", "confidence": 1.0}]}
    with RasaBackend(url) as backend, pytest.raises(BackendUnavailable, match="train.sh"):
        backend.predict(["你好"])


def test_batch_keeps_order(stub_server: tuple[str, type[_StubRasa]]) -> None:
    url, handler = stub_server
    handler.body = {"intent_ranking": [{"name": "fraud+urgency_medium", "confidence": 1.0}]}
    with RasaBackend(url, concurrency=4) as backend:
        results = backend.predict([f"第{i}条" for i in range(20)])
    assert len(results) == 20
    assert all(r["fraud"] == 1.0 and r["urgency:medium"] == 1.0 for r in results)


# --- the real Rasa server -----------------------------------------------------------------


def _run_script(name: str, env: dict[str, str], timeout: float) -> None:
    result = subprocess.run(  # noqa: S603 - our own scripts
        ["bash", str(SCRIPTS / name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"scripts/rasa/{name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


@pytest.fixture(scope="session")
def rasa_env() -> dict[str, str]:
    if not RASA_ENABLED:
        pytest.skip("HELPLINE_TEST_RASA is not 1")
    env = dict(os.environ)
    # A port of its own (serve.sh refuses one that another process answers on).
    env["HELPLINE_RASA_PORT"] = os.environ.get("HELPLINE_TEST_RASA_PORT", "5095")
    env["HELPLINE_VAR_DIR"] = os.environ.get("HELPLINE_TEST_RASA_VAR", str(PROJECT_ROOT / "var"))
    return env


@pytest.fixture(scope="session")
def rasa_url(rasa_env: dict[str, str]) -> Iterator[str]:
    _run_script("setup.sh", rasa_env, timeout=1800)
    _run_script("train.sh", rasa_env, timeout=1800)
    _run_script("serve.sh", rasa_env, timeout=600)
    try:
        yield f"http://127.0.0.1:{rasa_env['HELPLINE_RASA_PORT']}"
    finally:
        _run_script("stop.sh", rasa_env, timeout=120)


@pytest.fixture(scope="session")
def rasa(rasa_url: str) -> Iterator[RasaBackend]:
    with RasaBackend(rasa_url, timeout=30) as backend:
        yield backend


def _top(scores: dict[str, float]) -> str:
    return max(LABELS, key=lambda label: scores[label])


@needs_rasa
def test_status_names_our_model(rasa: RasaBackend) -> None:
    assert rasa.status()["model_file"] == "helpline-nlu.tar.gz"


@needs_rasa
def test_jump_tonight_is_crisis(rasa: RasaBackend) -> None:
    (scores,) = rasa.predict([normalize("我今晚就从楼顶跳下去")])
    assert set(scores) == set(LABELS) | set(URGENCY_KEYS)
    assert _top(scores) == "crisis"
    assert scores["crisis"] > 0.5
    assert scores["urgency:emergency"] + scores["urgency:high"] > 0.5


@needs_rasa
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("有人冒充警察打电话说我涉嫌洗钱，让我把钱转到安全账户", "fraud"),
        ("我爸喝了酒就用皮带抽我，身上都是伤", "abuse"),
        ("今天数学课讲了二次函数，作业好多", "general"),
    ],
)
def test_top_label(rasa: RasaBackend, text: str, label: str) -> None:
    (scores,) = rasa.predict([normalize(text)])
    assert _top(scores) == label


@needs_rasa
def test_multi_label_mapping(rasa: RasaBackend) -> None:
    text = normalize("他们天天在厕所打我，我真的不想活了")
    raw = rasa.parse(text)["intent_ranking"]
    scores = rasa.predict([text])[0]
    # Scores are exactly the sums over the intents that contain each label.
    for label in LABELS:
        expected = sum(e["confidence"] for e in raw if label in parse_intent_name(e["name"])[0])
        assert scores[label] == pytest.approx(min(1.0, expected), abs=1e-6)
    assert scores["bullying"] > 0.3 and scores["crisis"] > 0.3
    assert sum(scores[k] for k in URGENCY_KEYS) == pytest.approx(1.0, abs=1e-3)


@needs_rasa
def test_batch_matches_single(rasa: RasaBackend) -> None:
    texts = [normalize(t) for t in ("我不想活了", "网上刷单返利先交了押金", "周末去公园放风筝")]
    batch = rasa.predict(texts)
    single = [rasa.predict([t])[0] for t in texts]
    for one, other in zip(batch, single, strict=True):
        assert one == pytest.approx(other, abs=1e-6)


@needs_rasa
def test_pipeline_applies_rules_over_rasa(rasa_url: str) -> None:
    from nlu.pipeline import load_pipeline

    pipeline = load_pipeline(backend="rasa", rasa_url=rasa_url)
    analysis = pipeline.analyze("我今晚就从楼顶跳下去")
    assert "crisis" in analysis.labels
    assert analysis.urgency == "emergency"
    assert analysis.rules


@needs_rasa
def test_server_log_has_no_message_text(rasa: RasaBackend, rasa_env: dict[str, str]) -> None:
    marker = normalize("我的秘密暗号是青蛙跳水七号")
    rasa.predict([marker])
    port = rasa_env["HELPLINE_RASA_PORT"]
    log = Path(rasa_env["HELPLINE_VAR_DIR"]) / "rasa" / f"rasa-{port}.log"
    assert log.is_file()
    assert "青蛙跳水" not in log.read_text(encoding="utf-8", errors="replace")

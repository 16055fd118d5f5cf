"""The classify JSON-lines contract (bad lines answered with an error, the run goes on),
and the evaluate command."""

import io
import json
import os
import subprocess
import sys

from nlu.cli import CLASSIFY_KEYS, classify_stream

from .conftest import project_root

BAD_AND_GOOD = [
    json.dumps({"id": 1, "text": "我不想活了，今晚就吃安眠药"}, ensure_ascii=False).encode(),
    b"{not json",
    json.dumps({"id": 2}).encode(),
    json.dumps({"id": 3, "text": ""}).encode(),
    json.dumps({"id": 4, "text": 42}).encode(),
    b"\xff\xfe\x00\x81binary junk",
    json.dumps([1, 2]).encode(),
    json.dumps({"id": "big", "text": "好" * 100_000}).encode(),
    json.dumps({"id": "huge", "text": "好" * 400_000}).encode(),
    json.dumps({"id": 5, "text": "今天天气真好"}, ensure_ascii=False).encode(),
]


def run_stream(pipeline, lines):
    sink = io.StringIO()
    errors = classify_stream(pipeline, io.BytesIO(b"\n".join(lines) + b"\n"), sink)
    return errors, [json.loads(line) for line in sink.getvalue().splitlines()]


def test_bad_lines_get_errors_and_the_run_goes_on(quiet_pipeline):
    errors, out = run_stream(quiet_pipeline, BAD_AND_GOOD)
    assert len(out) == len(BAD_AND_GOOD)
    assert errors == 7
    assert out[0]["id"] == 1 and out[0]["labels"] == ["crisis"]
    assert out[0]["urgency"] == "emergency"
    assert set(out[0]) == {"id", *CLASSIFY_KEYS}
    assert out[1] == {"id": None, "error": "invalid JSON"}
    assert out[2] == {"id": 2, "error": "no text"}
    assert out[3] == {"id": 3, "error": "no text"}
    assert out[4] == {"id": 4, "error": "no text"}
    assert out[5] == {"id": None, "error": "not UTF-8"}
    assert out[6] == {"id": None, "error": "not a JSON object"}
    assert out[7]["id"] == "big" and "labels" in out[7]  # long text: analysed, cut
    assert out[8] == {"id": None, "error": "line too long"}  # not read into memory whole
    assert out[9]["id"] == 5 and out[9]["labels"] == ["general"]


def test_classify_command_end_to_end(trained_paths):
    env = dict(os.environ, HELPLINE_MODEL_DIR=str(trained_paths.model_root))
    stdin = b"\n".join([BAD_AND_GOOD[0], b"{oops", BAD_AND_GOOD[-1]]) + b"\n"
    proc = subprocess.run(
        [sys.executable, "-m", "nlu.cli", "classify", "--backend", "spacy"],
        input=stdin,
        capture_output=True,
        cwd=project_root(),
        env=env,
        timeout=120,
        check=True,
    )
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o.get("id") for o in out] == [1, None, 5]
    assert out[0]["labels"] == ["crisis"] and out[0]["mandatory_report"] is True
    assert "error" in out[1]
    assert out[2]["labels"] == ["general"]
    assert "我不想活" not in proc.stderr.decode()  # message text is never logged


def test_evaluate_command_json(trained_paths, tmp_path):
    test_file = tmp_path / "t.jsonl"
    lines = [
        {"text": "我不想活了，今晚就吃安眠药", "categories": ["crisis"], "urgency": "emergency"},
        {"text": "今天天气真好", "categories": ["general"], "urgency": "low"},
    ]
    test_file.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    env = dict(os.environ, HELPLINE_MODEL_DIR=str(trained_paths.model_root))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlu.cli",
            "evaluate",
            str(test_file),
            "--json",
            "--false-alarms",
            str(test_file),
        ],
        capture_output=True,
        cwd=project_root(),
        env=env,
        timeout=120,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert report["recall_crisis"] == 1.0
    assert report["recall_emergency"] == 1.0
    assert report["general_false_alarm_rate"] == 0.0
    assert report["false_alarms"]["n"] == 2 and report["false_alarms"]["flagged"] == 1


BAD_EVALUATION_FILES = {
    "unknown label": (
        json.dumps(
            {"text": "我不想活了", "categories": ["crime"], "urgency": "high"}, ensure_ascii=False
        )
        + "\n"
    ).encode(),
    "invalid JSON": "我不想活了 {not json\n".encode(),
    "binary": b"\xff\xfe\x00\x81\x9c binary junk",
}


def _evaluate(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "nlu.cli", "evaluate", *args],
        capture_output=True,
        cwd=project_root(),
        timeout=120,
    )


def test_evaluate_rejects_bad_files_in_one_line_without_their_text(tmp_path):
    # Both files are read before the model loads: each bad one is answered at once with
    # exit code 2 and one line naming the file (and line), never the text in it.
    good = tmp_path / "good.jsonl"
    line = {"text": "今天天气真好", "categories": ["general"], "urgency": "low"}
    good.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    cases = [(str(tmp_path / "missing.jsonl"),), (str(good), "--false-alarms", "/no/such.jsonl")]
    for name, content in BAD_EVALUATION_FILES.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        bad.write_bytes(content)
        cases.append((str(bad),))
    binary = tmp_path / "binary.jsonl"
    cases.append((str(good), "--false-alarms", str(binary)))
    for args in cases:
        proc = _evaluate(*args)
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 2, (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "我不想活" not in err + proc.stdout.decode("utf-8", "replace")

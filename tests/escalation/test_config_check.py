"""`helpline config check`: bad input (exit 2, one line naming file and line), gaps named
(exit 1), the demo configuration clean (exit 0); `demo load` and `serve` refuse gaps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpline.settings import PROJECT_ROOT
from tests.support.processes import free_port

DEMO = PROJECT_ROOT / "data" / "demo" / "config.yaml"
HELPLINE = [sys.executable, "-m", "assembly.cli"]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        HELPLINE + args,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def _check(path: Path, *extra: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from assembly.cli import _mount_optional, app

    if not any(group.name == "nlu" for group in app.registered_groups):
        _mount_optional()
    result = CliRunner().invoke(app, ["config", "check", "--config", str(path), *extra])
    return result.exit_code, result.stdout, result.stderr


def _demo() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def _write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_configuration_has_no_gaps() -> None:
    code, out, _ = _check(DEMO)
    assert code == 0, out
    code, out, _ = _check(DEMO, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["ok"] and answer["gaps"] == []
    rows = {(r["org"], r["kind"]): r for r in answer["coverage"]}
    # sch-b has no lead of its own: its restricted cases go up to the district's lead.
    assert rows[("sch-b", "restricted")]["routed_up"]
    assert rows[("sch-b", "restricted")]["district_takers"] == ["lead.district"]
    assert rows[("qp-demo", "district_ordinary")]["takers"] == [
        "counsellor.district",
        "lead.district",
    ]


def _one_line(err: str, path: Path, line: int | None) -> None:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    expected = f"{path}:{line}:" if line else f"{path}:"
    assert lines[0].startswith(expected), (lines[0], expected)


def test_missing_file(tmp_path: Path) -> None:
    code, out, err = _check(tmp_path / "nope.yaml")
    assert code == 2
    _one_line(err, tmp_path / "nope.yaml", None)
    assert "找不到" in err


HEAD = "district: {code: d, name: 区}\n"
SHIFT = "duty_rosters:\n  - org: d\n    shifts:\n      - "
POLICY = "escalation_policies:\n  - org: d\n    name: p\n    urgencies: [emergency]\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("district:\n  code: d\n  name: [unclosed\n", 4, "YAML"),
        (
            HEAD
            + "staff:\n  - {username: a, display_name: A, role: counsellor, org: d, emial: a}\n",
            3,
            "emial",
        ),
        (HEAD + "bogus_section: 1\n", 2, "bogus_section"),
        (HEAD + SHIFT + "{staff: a, days: [mon], start: '25:00', end: '08:00'}\n", 5, "HH:MM"),
        (HEAD + SHIFT + "{staff: a, days: [mo], start: '07:00', end: '08:00'}\n", 5, "mo"),
        (HEAD + "staff:\n  - {username: a, role: counsellor, org: d}\n", 3, "display_name"),
        (HEAD + POLICY + "    steps:\n      - {notify: role, org: school}\n", 7, "role"),
        ("- just\n- a list\n", 1, "映射"),
        ("", 1, "空"),
        ("district: {code: d, name: 区, code: e}\n", 1, "重复"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    code, out, err = _check(path)
    assert code == 2, (out, err)
    _one_line(err, path, line)
    assert words in err
    code, out, err = _check(path, "--json")
    assert code == 2 and json.loads(out)["error"]["line"] == line


def _gapped(tmp_path: Path, change) -> tuple[int, str]:  # noqa: ANN001
    config = _demo()
    change(config)
    path = _write(tmp_path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    code, out, _ = _check(path)
    return code, out


def _roster(config: dict, org: str) -> list[dict]:
    return next(r for r in config["duty_rosters"] if r["org"] == org)["shifts"]


def test_roster_errors_are_named(tmp_path: Path) -> None:
    code, out = _gapped(
        tmp_path,
        lambda c: _roster(c, "sch-a").append(
            {"staff": "duty.a", "days": ["tue"], "start": "12:00", "end": "20:00"}
        ),
    )
    assert code == 1 and "overlapping_shift" in out and "duty.a" in out and "周二" in out
    code, out = _gapped(
        tmp_path,
        lambda c: _roster(c, "sch-a").append(
            {"staff": "duty.a", "days": ["sat"], "start": "09:00", "end": "08:00"}
        ),
    )
    assert code == 1 and "inverted_shift" in out and "09:00–08:00" in out
    code, out = _gapped(
        tmp_path,
        lambda c: _roster(c, "sch-a").append(
            {"staff": "duty.zzz", "days": ["sat"], "start": "09:00", "end": "10:00"}
        ),
    )
    assert code == 1 and "unknown_staff" in out and "duty.zzz" in out
    code, out = _gapped(
        tmp_path,
        lambda c: c["duty_rosters"].append(
            {
                "org": "sch-zzz",
                "shifts": [{"staff": "duty.a", "days": ["mon"], "start": "09:00", "end": "10:00"}],
            }
        ),
    )
    assert code == 1 and "unknown_org" in out and "sch-zzz" in out


def test_every_gap_the_issue_lists_is_named(tmp_path: Path) -> None:
    def no_fallback(c: dict) -> None:
        c["schools"][1].pop("fallback")

    code, out = _gapped(tmp_path, no_fallback)
    assert code == 1 and "sch-b" in out and "受限个案" in out and "no_taker" in out

    def no_district_takers(c: dict) -> None:
        c["staff"] = [
            s for s in c["staff"] if s["username"] not in ("counsellor.district", "lead.district")
        ]

    code, out = _gapped(tmp_path, no_district_takers)
    assert code == 1 and "无学校个案" in out and "qp-demo" in out

    def weekday_holiday_hole(c: dict) -> None:  # holidays on weekdays are rostered as Sunday
        for shift in _roster(c, "qp-demo"):
            shift["days"] = ["mon", "tue", "wed", "thu", "fri", "sat"]

    code, out = _gapped(tmp_path, weekday_holiday_hole)
    assert code == 1 and "on_duty_gap" in out and "法定节假日" in out and "周日" in out

    def no_address(c: dict) -> None:
        next(s for s in c["staff"] if s["username"] == "duty.b").pop("email")

    code, out = _gapped(tmp_path, no_address)
    assert code == 1 and "no_channel" in out and "duty.b" in out

    def no_policy_for_low(c: dict) -> None:
        c["escalation_policies"][1]["urgencies"] = ["high", "medium"]

    code, out = _gapped(tmp_path, no_policy_for_low)
    assert code == 1 and "no_policy" in out and "低" in out


def test_demo_load_and_serve_refuse_gaps(tmp_path: Path) -> None:
    config = _demo()
    config["schools"][1].pop("fallback")
    gapped = _write(tmp_path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    env = {
        "HELPLINE_VAR_DIR": str(tmp_path),
        "HELPLINE_CONFIG_FILE": "",  # no settings file (a named missing one is an error)
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
    }
    assert _run(["db", "upgrade"], env).returncode == 0
    refused = _run(["demo", "load", "--config", str(gapped)], env)
    assert refused.returncode == 1 and "sch-b" in refused.stderr
    assert "--allow-gaps" in refused.stderr
    assert "password" not in refused.stdout  # nothing was loaded
    loaded = _run(["demo", "load", "--config", str(gapped), "--allow-gaps"], env)
    assert loaded.returncode == 0 and "lead.district" in loaded.stdout
    assert "警告" in loaded.stderr

    port = str(free_port())
    refused = _run(["serve", "--port", port], env)
    assert refused.returncode == 1 and "no_taker" in refused.stderr and "sch-b" in refused.stderr
    server = subprocess.Popen(
        HELPLINE + ["serve", "--port", port, "--allow-gaps"],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError("the service did not start with --allow-gaps")
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert "警告" in err and re.search(r"1 处缺口", err)


def test_the_demo_configuration_loads_without_allow_gaps(tmp_path: Path) -> None:
    env = {
        "HELPLINE_VAR_DIR": str(tmp_path),
        "HELPLINE_CONFIG_FILE": "",  # no settings file (a named missing one is an error)
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
    }
    assert _run(["db", "upgrade"], env).returncode == 0
    loaded = _run(["demo", "load"], env)
    assert loaded.returncode == 0, loaded.stderr
    for login in ("counsellor.district", "lead.district"):
        assert login in loaded.stdout
    assert "缺口" not in loaded.stderr


def test_an_empty_configuration_is_a_gap() -> None:
    from escalation import coverage

    gaps = coverage.check(coverage.Setup({}, {}, source="数据库中的配置"))
    assert [gap.code for gap in gaps] == ["no_district"]

"""Every expected command-line failure is one line with a hint, exit code 2, and leaves
nothing behind (no database, no folder) that the command was not asked to make."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpline.settings import PROJECT_ROOT

HELPLINE = [sys.executable, "-m", "assembly.cli"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run(
        HELPLINE + args, env=full, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ") and "(hint: " in line, line
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in line, line
    return line


def test_audit_verify_without_a_database_creates_nothing(tmp_path: Path) -> None:
    var = tmp_path / "var"
    result = _run(["audit", "verify"], HELPLINE_VAR_DIR=str(var), HELPLINE_DATABASE_URL="")
    _one_line_error(result, "no database", "helpline db upgrade")
    assert not var.exists()


def test_keys_rotate_without_a_database_creates_no_key_file(tmp_path: Path) -> None:
    var = tmp_path / "var"
    result = _run(["keys", "rotate"], HELPLINE_VAR_DIR=str(var), HELPLINE_DATABASE_URL="")
    _one_line_error(result, "no database", "helpline db upgrade")
    assert not var.exists()  # no new key ring beside a database that is not there


def test_audit_verify_on_an_unmigrated_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    url = f"sqlite+aiosqlite:///{empty}"
    result = _run(["audit", "verify"], HELPLINE_DATABASE_URL=url)
    _one_line_error(result, "no tables", "helpline db upgrade")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://nobody:hunter2@127.0.0.1:1/helpline",
        "postgresql+asyncpg://nobody:hunter2@no-such-host.invalid/helpline",
    ],
)
def test_unreachable_database(url: str) -> None:
    line = _one_line_error(_run(["audit", "verify"], HELPLINE_DATABASE_URL=url), "cannot reach")
    assert "hunter2" not in line  # the password is masked


def test_malformed_toml(tmp_path: Path) -> None:
    bad = tmp_path / "helpline.toml"
    bad.write_text("port = [\n", encoding="utf-8")
    result = _run(["config", "show"], HELPLINE_CONFIG_FILE=str(bad))
    _one_line_error(result, str(bad), "not valid TOML", "line")


def test_a_setting_of_the_wrong_type() -> None:
    result = _run(["config", "show"], HELPLINE_PORT="abc")
    line = _one_line_error(result, "HELPLINE_PORT", "integer")
    assert "'abc'" not in line  # the given value is not echoed


def test_a_secret_of_the_wrong_shape_is_not_echoed() -> None:
    result = _run(["config", "show"], HELPLINE_SMTP_PORT="s3cr3t-value")
    line = _one_line_error(result, "HELPLINE_SMTP_PORT")
    assert "s3cr3t-value" not in result.stderr, line


def test_a_named_config_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = _run(["config", "show"], HELPLINE_CONFIG_FILE=str(missing))
    _one_line_error(result, str(missing), "does not exist")
    assert not missing.exists()


def test_empty_config_file_setting_means_none() -> None:
    result = _run(["config", "show"], HELPLINE_CONFIG_FILE="")
    assert result.returncode == 0, result.stderr


def test_report_monthly_unknown_district_lists_the_codes(db_url: str, tmp_path: Path) -> None:
    result = _run(
        ["report", "monthly", "--month", "2026-01", "--district", "nosuch", "--out", str(tmp_path)]
    )
    _one_line_error(result, "nosuch", "valid codes", "qp-demo", "sch-a", "sch-b")
    assert list(tmp_path.iterdir()) == []


def test_report_monthly_into_a_missing_folder_creates_nothing(db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir"
    result = _run(
        ["report", "monthly", "--month", "2026-01", "--district", "qp-demo", "--out", str(target)]
    )
    _one_line_error(result, str(target), "does not exist")
    assert not (tmp_path / "nonexistent").exists()


def test_report_monthly_into_an_existing_folder_still_works(db_url: str, tmp_path: Path) -> None:
    result = _run(
        ["report", "monthly", "--month", "2026-01", "--district", "qp-demo", "--out", str(tmp_path)]
    )
    assert result.returncode == 0, result.stderr
    assert any(p.suffix == ".csv" for p in tmp_path.iterdir())


def test_serve_refuses_an_unmigrated_database_before_listening(tmp_path: Path) -> None:
    var = tmp_path / "var"
    result = _run(["serve", "--port", "1"], HELPLINE_VAR_DIR=str(var), HELPLINE_DATABASE_URL="")
    _one_line_error(result, "no database")
    assert not var.exists()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["report", "monthly", "--month", "2026-13"], ["--district", "report monthly --help"]),
        (["report", "monthly", "--month", "2026-13", "--district", "x"], ["YYYY-MM"]),
        (["no-such-command"], ["no-such-command", "helpline --help"]),
        (["db", "upgrade", "--no-such-option"], ["--no-such-option", "db upgrade --help"]),
        (["worker", "--lease-seconds", "abc"], ["--lease-seconds"]),
    ],
)
def test_a_mistyped_command_line_is_one_line(args: list[str], needles: list[str]) -> None:
    """Usage errors (a missing, unknown or malformed option, an unknown command) are one line
    naming the `--help` that explains them, not click's framed box."""
    _one_line_error(_run(args, HELPLINE_CONFIG_FILE=""), *needles)


def test_help_still_answers_with_exit_code_0() -> None:
    # A command's own exit code (typer.Exit(1) of audit verify, alerts test, config check) is
    # tested where those commands are (tests/security/test_audit_anchor.py and others).
    result = _run(["report", "--help"])
    assert result.returncode == 0 and "monthly" in result.stdout, result.stderr

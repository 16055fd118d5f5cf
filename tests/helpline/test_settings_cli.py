import json
import os
import subprocess
import sys

from helpline.settings import PROJECT_ROOT

HELPLINE = [sys.executable, "-m", "assembly.cli"]


def _run(args, env_extra, **kw):
    env = {**os.environ, **env_extra}
    return subprocess.run(HELPLINE + args, env=env, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120, **kw)


def test_config_show_masks_secrets(tmp_path):
    toml = tmp_path / "helpline.toml"
    toml.write_text('telegram_token = "123456:SECRET-TOKEN"\nport = 9123\n')
    result = _run(["config", "show"], {
        "HELPLINE_CONFIG_FILE": str(toml),
        "HELPLINE_DATABASE_URL": "postgresql+asyncpg://u:pa55word@db/helpline",
        "HELPLINE_VAR_DIR": str(tmp_path),
    })
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["port"] == 9123  # from the TOML file
    assert shown["telegram_token"] == "********"
    assert "SECRET-TOKEN" not in result.stdout and "pa55word" not in result.stdout


def test_fresh_database_upgrade_demo_load_and_audit_verify(tmp_path):
    env = {"HELPLINE_VAR_DIR": str(tmp_path), "HELPLINE_CONFIG_FILE": ""}
    env.pop("HELPLINE_DATABASE_URL", None)
    env["HELPLINE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    assert _run(["db", "upgrade"], env).returncode == 0
    loaded = _run(["demo", "load"], env)
    assert loaded.returncode == 0, loaded.stderr
    for role in ("counsellor", "safeguarding_lead", "duty_officer", "admin", "auditor"):
        assert role in loaded.stdout
    again = _run(["demo", "load"], env)
    assert "already loaded" in again.stdout
    verified = _run(["audit", "verify"], env)
    assert verified.returncode == 0 and "intact" in verified.stdout

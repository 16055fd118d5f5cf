"""The configuration in force exported as YAML (issue 17): the export is a configuration file
`helpline config check` reads, it says what the database holds (console edits included), and
loaded into an empty database it exports to the same text. A property test holds that any
configuration document dumps to YAML that parses back to itself."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation import configfile, coverage, roster_edit
from escalation.export import dump, export_config
from escalation.models import NOTIFY_KINDS
from helpline.db import dispose_engine, session_scope
from helpline.settings import PROJECT_ROOT, reset_settings
from tests.support.web import BACKEND, PG_HOST
from triage.models import Organisation, Role, StaffUser
from triage.policy import URGENCY_ORDER

HELPLINE = [sys.executable, "-m", "assembly.cli"]


def _bare(setup: coverage.Setup) -> coverage.Setup:
    """A Setup without where things were read from (a file's lines, a database's ids)."""
    return replace(
        setup,
        orgs={k: replace(v, where="") for k, v in setup.orgs.items()},
        people={k: replace(v, where="") for k, v in setup.people.items()},
        # A file lists shifts by roster, a database by when they were added.
        shifts=tuple(
            sorted(
                (replace(s, where="", key=None) for s in setup.shifts),
                key=lambda s: (s.org, s.staff, s.days, s.start, s.end),
            )
        ),
        policies=tuple(replace(p, where="", key=None) for p in setup.policies),
        source="",
    )


async def _edit_in_console_terms() -> None:
    """Changes the console makes: a phone number, a shift handed over, a holiday shift."""
    from sqlalchemy import select, update

    async with session_scope() as s:
        admin = (
            await s.execute(select(StaffUser).where(StaffUser.username == "admin.district"))
        ).scalar_one()
        await s.execute(
            update(StaffUser).where(StaffUser.username == "duty.b").values(phone="13800000001")
        )
        school = (
            await s.execute(select(Organisation).where(Organisation.code == "sch-b"))
        ).scalar_one()
        people = await roster_edit.candidates(s, school)
        holiday = roster_edit.clean_shift(people, "counsellor.b", ["holiday"], "00:00", "24:00")
        await roster_edit.add_shift(s, admin, school, holiday)


async def _empty_database() -> tuple[str, str | None]:
    """A migrated database with nothing in it: (url, PostgreSQL name to drop)."""
    from assembly import dbadmin

    if BACKEND == "postgresql":
        import asyncpg

        name = f"hl_x_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(PG_HOST.replace("+asyncpg", "") + "/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = f"{PG_HOST}/{name}"
    else:
        path = Path(os.environ["HELPLINE_VAR_DIR"]) / f"x_{uuid.uuid4().hex[:12]}.db"
        url, name = f"sqlite+aiosqlite:///{path}", None
    await dispose_engine()
    import asyncio

    await asyncio.to_thread(dbadmin.upgrade, url)
    return url, name


async def _drop(name: str | None) -> None:
    if name is None:
        return
    import asyncpg

    conn = await asyncpg.connect(PG_HOST.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_the_export_round_trips_through_an_empty_database(db_url: str, tmp_path) -> None:  # noqa: ANN001
    from assembly.wiring import load_demo

    await _edit_in_console_terms()
    async with session_scope() as s:
        in_force = await coverage.from_db(s)
        exported = dump(await export_config(s))
    path = tmp_path / "exported.yaml"
    path.write_text(exported, encoding="utf-8")
    parsed = configfile.parse(exported, path)  # every field known, every value of its type
    from_file = coverage.from_file(parsed)
    assert _bare(from_file) == _bare(in_force)
    assert coverage.check(from_file) == [] and "13800000001" in exported
    assert {"staff": "counsellor.b", "days": ["holiday"], "start": "00:00", "end": "24:00"} in [
        shift for r in parsed.data["duty_rosters"] for shift in r["shifts"]
    ]
    assert "password" not in exported and "totp" not in exported.lower()

    url, name = await _empty_database()
    os.environ["HELPLINE_DATABASE_URL"] = url
    reset_settings()
    try:
        await load_demo(path, "a-password-for-the-copy")
        async with session_scope() as s:
            again = dump(await export_config(s))
            assert _bare(await coverage.from_db(s)) == _bare(in_force)
        assert again == exported
    finally:
        await dispose_engine()
        os.environ["HELPLINE_DATABASE_URL"] = db_url
        reset_settings()
        await _drop(name)


def _export(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HELPLINE, "config-export", "--out", str(out)],
        env={**os.environ},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_the_command_writes_a_private_file_and_refuses_a_missing_folder(
    db_url: str,
    tmp_path: Path,
) -> None:
    out = tmp_path / "config.yaml"
    done = _export(out)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert configfile.read(out).data["district"]["code"] == "qp-demo"
    refused = _export(tmp_path / "no" / "such" / "config.yaml")
    assert refused.returncode == 2 and "does not exist" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


# --- any document: dump, then parse, gives it back ----------------------------------------

_code = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_name = st.text(min_size=1, max_size=20).filter(lambda t: t.strip() == t and t.isprintable())
_time = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45])
) | st.just("24:00")
_target = st.fixed_dictionaries(
    {"notify": st.sampled_from(NOTIFY_KINDS)},
    optional={
        "org": st.sampled_from(["school", "district"]),
        "wait_minutes": st.integers(0, 600),
        "all_channels": st.booleans(),
    },
).map(
    lambda t: {
        **t,
        **({"role": "safeguarding_lead"} if t["notify"] == "role" else {}),
        **({"staff": "someone"} if t["notify"] == "staff" else {}),
        **({"group": "duty-group"} if t["notify"] == "group" else {}),
    }
)
_document = st.fixed_dictionaries(
    {
        "district": st.fixed_dictionaries({"code": _code, "name": _name, "region": _code}),
        "schools": st.lists(
            st.fixed_dictionaries(
                {"code": _code, "name": _name}, optional={"fallback": st.just("district")}
            ),
            max_size=3,
        ),
        "staff": st.lists(
            st.fixed_dictionaries(
                {
                    "username": _code,
                    "display_name": _name,
                    "role": st.sampled_from([r.value for r in Role]),
                    "org": _code,
                },
                optional={
                    "active": st.just(False),
                    "email": _name,
                    "phone": st.from_regex(r"1[0-9]{10}", fullmatch=True),
                    "telegram_chat_id": st.from_regex(r"-?[0-9]{1,12}", fullmatch=True),
                },
            ),
            max_size=4,
        ),
        "duty_rosters": st.lists(
            st.fixed_dictionaries(
                {
                    "org": _code,
                    "shifts": st.lists(
                        st.fixed_dictionaries(
                            {
                                "staff": _code,
                                "days": st.lists(
                                    st.sampled_from(roster_edit.DAY_KEYS),
                                    min_size=1,
                                    unique=True,
                                ),
                                "start": _time,
                                "end": _time,
                            }
                        ),
                        min_size=1,
                        max_size=3,
                    ),
                }
            ),
            max_size=2,
        ),
        "escalation_policies": st.lists(
            st.fixed_dictionaries(
                {
                    "org": _code,
                    "name": _name,
                    "urgencies": st.lists(st.sampled_from(URGENCY_ORDER), min_size=1, unique=True),
                    "steps": st.lists(_target, min_size=1, max_size=3),
                },
                optional={"repeat": st.integers(1, 5), "reack_minutes": st.integers(1, 600)},
            ),
            max_size=2,
        ),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document)
def test_any_document_dumps_to_yaml_that_parses_back_to_itself(document: dict) -> None:
    text = dump(document)
    assert configfile.parse(text, Path("exported.yaml")).data == document


async def test_the_console_download_is_the_export_audited_and_for_administrators(client) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from helpline.audit import AuditEvent
    from tests.support.web import login

    assert (await login(client, "counsellor.a")).status_code == 303
    assert (await client.get("/console/admin/config.yaml")).status_code == 403
    assert (await login(client, "admin.district")).status_code == 303
    assert 'href="/console/admin/config.yaml"' in (await client.get("/console/admin/rosters")).text
    got = await client.get("/console/admin/config.yaml")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    assert got.headers["cache-control"] == "no-store"
    async with session_scope() as s:
        assert got.text == dump(await export_config(s))
        events = await s.execute(select(AuditEvent).where(AuditEvent.action == "config.exported"))
        assert len(list(events.scalars())) == 1
    assert configfile.parse(got.text, Path("download.yaml")).data["district"]["code"] == "qp-demo"

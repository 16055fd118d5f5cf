"""A case with a name, a phone number and 自杀 leaves none of them in clear in the database."""

import glob
import subprocess

from sqlalchemy import select
from sqlalchemy.engine import make_url

from helpline.db import dispose_engine, is_sqlite, session_scope
from triage.intake import Intake, receive
from triage.models import Message, Reporter

TEXT = "我叫王小明，手机13912345678，我想自杀，QQ 123456789"
SECRETS = ["王小明", "13912345678", "自杀", "123456789", "小明"]
CONTACT = "妈妈的电话 13700001111"
CHAT_ID = "5550001234"


def _raw_dump(db_url: str) -> bytes:
    url = make_url(db_url)
    if is_sqlite(db_url):
        # The WAL and shared-memory files can hold recent pages too.
        return b"".join(open(p, "rb").read() for p in glob.glob(f"{url.database}*"))
    result = subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
         url.username or "postgres", "--data-only", url.database],
        capture_output=True, check=True, timeout=120,
    )
    return result.stdout


async def test_no_text_name_phone_or_chat_id_in_clear(db_url):
    async with session_scope() as s:
        await receive(s, Intake(channel="telegram", reporter_ref=CHAT_ID, chat_id=CHAT_ID,
                                text=TEXT, contact=CONTACT))
    async with session_scope() as s:  # readable through the application
        assert (await s.execute(select(Message.text))).scalar_one() == TEXT
        reporter = (await s.execute(select(Reporter))).scalar_one()
        assert reporter.chat_id == CHAT_ID and reporter.contact == CONTACT
    await dispose_engine()
    raw = _raw_dump(db_url)
    assert len(raw) > 1000
    for secret in [*SECRETS, CHAT_ID, "13700001111"]:
        for encoding in ("utf-8", "utf-16-le", "gb18030"):
            assert secret.encode(encoding) not in raw, f"{secret!r} found in clear ({encoding})"
    # JSON columns escape non-ASCII as \\uXXXX: look for that form of the words as well.
    for secret in SECRETS:
        escaped = secret.encode("unicode_escape")
        assert escaped not in raw and escaped.replace(b"\\u", b"\\\\u") not in raw


async def test_staff_passwords_are_stored_as_salted_argon2id(db_url):
    # ASVS 2.4.1 (docs/security.md): a slow, salted KDF, and no password in the file.
    from tests.support.web import DEMO_PASSWORD
    from triage.models import StaffUser

    async with session_scope() as s:
        hashes = (await s.execute(select(StaffUser.password_hash))).scalars().all()
    assert hashes
    salts = set()
    for stored in hashes:
        kind, version, params, salt, _ = stored.lstrip("$").split("$")
        assert kind == "argon2id", stored[:12]
        cost = dict(p.split("=") for p in params.split(","))
        # OWASP's floor for argon2id: 19 MiB of memory and two passes.
        assert int(cost["m"]) >= 19 * 1024 and int(cost["t"]) >= 2
        salts.add(salt)
    assert len(salts) == len(hashes)  # every account its own salt
    await dispose_engine()
    assert DEMO_PASSWORD.encode() not in _raw_dump(db_url)

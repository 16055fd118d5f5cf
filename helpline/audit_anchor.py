"""Signed checkpoints of the audit chain, kept outside the database.

The chain's HMAC stops someone who has only the database from rewriting it. Someone who also
has the key file could recompute every later hash and the head; a checkpoint stops that: now and
then the newest event's id and hash are signed (Ed25519) and appended to a file under
`var/audit/`, and optionally mailed to the district, where nobody with the database can reach
them. `helpline audit verify` checks every checkpoint's signature and that the event it names
still has the hash it had then. The signing key is a file of its own (0600), the public key next
to it can be given to the district to check the mailed checkpoints independently.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import AuditHead, VerifyResult, verify_chain
from helpline.db import session_scope, utcnow
from helpline.files import append_private, private_dir, write_private
from helpline.settings import get_settings

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints.jsonl"
SIGNING_KEY = "signing.key"
PUBLIC_KEY = "signing.pub"
EVERY_SECONDS = 600


def audit_dir() -> Path:
    return get_settings().effective_audit_dir


def _signing_key() -> Ed25519PrivateKey:
    path = audit_dir() / SIGNING_KEY
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} must not be readable by others (chmod 600)")
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text()))
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes_raw()
    write_private(path, base64.b64encode(raw).decode())
    write_private(audit_dir() / PUBLIC_KEY, public_key_text(key.public_key()))
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes_raw()).decode()


def _public_key() -> Ed25519PublicKey | None:
    path = audit_dir() / PUBLIC_KEY
    if not path.exists():
        return None
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(path.read_text().strip()))


def _body(point: dict[str, Any]) -> bytes:
    unsigned = {k: v for k, v in point.items() if k != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def read_checkpoints(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or audit_dir() / CHECKPOINTS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def write_checkpoint(session: AsyncSession) -> dict[str, Any] | None:
    """Sign the chain's head and append it to the checkpoint file (None: nothing new since the
    last checkpoint, or no events yet)."""
    head = await session.get(AuditHead, 1)
    if head is None or head.last_event_id is None:
        return None
    known = read_checkpoints()
    if known and known[-1]["event_id"] == head.last_event_id:
        return None
    point: dict[str, Any] = {
        "event_id": head.last_event_id,
        "hash": head.last_hash,
        "keyed_from_id": head.keyed_from_id,
        "at": utcnow().isoformat(timespec="seconds"),
    }
    point["sig"] = base64.b64encode(_signing_key().sign(_body(point))).decode()
    append_private(audit_dir() / CHECKPOINTS, json.dumps(point, sort_keys=True))
    await asyncio.to_thread(_mail, point)
    return point


def _mail(point: dict[str, Any]) -> None:
    """Send the checkpoint to the district's address, if one is set (a copy nobody with the
    server can take back). A failure is logged, never fatal: the file copy is written."""
    settings = get_settings()
    if not settings.audit_checkpoint_mailto:
        return
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = settings.audit_checkpoint_mailto
    message["Subject"] = f"audit checkpoint {point['event_id']}"
    key = _public_key()
    message.set_content(
        json.dumps(point, sort_keys=True)
        + "\n\npublic key (Ed25519, base64): "
        + (public_key_text(key) if key else "")
        + "\n"
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("audit checkpoint not mailed", extra={"error": type(exc).__name__})


@dataclass
class AnchorResult:
    ok: bool
    chain: VerifyResult
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)


async def verify(session: AsyncSession) -> AnchorResult:
    """The chain, then every checkpoint against it."""
    points = read_checkpoints()
    chain = await verify_chain(session, want={int(p["event_id"]) for p in points})
    result = AnchorResult(chain.ok, chain, len(points))
    if not points:
        return result
    public = _public_key()
    for point in points:
        where = f"checkpoint of {point.get('at')} (event {point.get('event_id')})"
        try:
            if public is None:
                raise InvalidSignature
            public.verify(base64.b64decode(point["sig"]), _body(point))
        except (InvalidSignature, KeyError, ValueError):
            result.problems.append(f"{where}: signature invalid")
            continue
        if chain.hashes is None:
            continue  # the chain itself is broken: reported already
        found = chain.hashes.get(int(point["event_id"]))
        if found is None:
            result.problems.append(f"{where}: that event is gone from the chain")
        elif found != point["hash"]:
            result.problems.append(f"{where}: the chain was rewritten up to that event")
        if point.get("keyed_from_id") != chain.keyed_from_id:
            result.problems.append(f"{where}: the start of the keyed chain was moved")
    result.ok = chain.ok and not result.problems
    return result


async def background_service() -> None:
    """A checkpoint every ten minutes while there are new events."""
    private_dir(audit_dir())
    while True:
        try:
            async with session_scope() as session:
                await write_checkpoint(session)
        except Exception as exc:  # a missed checkpoint is retried at the next turn
            log.error("audit checkpoint failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(EVERY_SECONDS)

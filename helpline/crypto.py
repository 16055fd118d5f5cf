"""Key ring, AES-GCM field encryption, HMAC pseudonyms and receipt codes.

Ciphertexts carry the id of the key that made them (``enc1:<key id>:<base64>``), so keys can be
rotated: old rows stay readable until `helpline keys rotate` has re-encrypted them. The
pseudonym key is never rotated, because rotating it would unlink a reporter's earlier messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from helpline.files import private_dir
from helpline.settings import get_settings

PREFIX = "enc1"
RECEIPT_ALPHABET = (
    "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on phones
)
RECEIPT_LENGTH = 16


class KeyRingError(RuntimeError):
    """The key ring is missing, unreadable or cannot decrypt a value."""


class UnknownKeyId(KeyRingError):
    """A value was encrypted under a key this ring does not hold (yet: see get_keyring)."""


@dataclass
class KeyRing:
    keys: dict[str, bytes]
    current_id: str
    pseudonym_key: bytes
    secret_key: bytes
    path: Path | None = None
    order: list[str] = field(default_factory=list)
    stamp: tuple[int, int] | None = None  # the key file's (mtime_ns, size) when read

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode(), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{PREFIX}:{self.current_id}:{blob}"

    def decrypt(self, token: str, context: str) -> str:
        try:
            prefix, key_id, blob = token.split(":", 2)
        except ValueError as exc:
            raise KeyRingError("value is not an encrypted field") from exc
        if prefix != PREFIX:
            raise KeyRingError("value is not an encrypted field")
        if key_id not in self.keys:
            raise UnknownKeyId(f"unknown key id {key_id!r}")
        raw = base64.urlsafe_b64decode(blob)
        try:
            plain = AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], context.encode())
        except Exception as exc:
            raise KeyRingError("decryption failed (wrong key or tampered value)") from exc
        return plain.decode()

    def pseudonym(self, channel: str, raw_id: str) -> str:
        """A stable, unlinkable-without-the-key identifier for a reporter on a channel."""
        msg = f"{channel}\x00{raw_id}".encode()
        return hmac.new(self.pseudonym_key, msg, hashlib.sha256).hexdigest()

    def keyed_hash(self, purpose: str, value: str) -> str:
        msg = f"{purpose}\x00{value}".encode()
        return hmac.new(self.secret_key, msg, hashlib.sha256).hexdigest()

    def add_key(self) -> str:
        """Make a new current key and save the ring (file-backed rings only)."""
        if self.path is None:
            raise KeyRingError(
                "keys come from HELPLINE_KEYS: add the new key there, then run "
                "`helpline keys rotate` to re-encrypt"
            )
        new_id = f"k{len(self.order) + 1}"
        while new_id in self.keys:
            new_id = f"k{int(new_id[1:]) + 1}"
        self.keys[new_id] = AESGCM.generate_key(bit_length=256)
        self.order.append(new_id)
        self.current_id = new_id
        save_key_file(self, self.path)
        self.stamp = _stamp(self.path)
        return new_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def save_key_file(ring: KeyRing, path: Path) -> None:
    """Write the ring atomically with mode 0600."""
    payload = {
        "keys": [{"id": k, "key": _b64(ring.keys[k])} for k in ring.order],
        "pseudonym_key": _b64(ring.pseudonym_key),
        "secret_key": _b64(ring.secret_key),
    }
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _new_ring(path: Path) -> KeyRing:
    ring = KeyRing(
        keys={"k1": AESGCM.generate_key(bit_length=256)},
        current_id="k1",
        pseudonym_key=secrets.token_bytes(32),
        secret_key=secrets.token_bytes(32),
        path=path,
        order=["k1"],
    )
    save_key_file(ring, path)
    ring.stamp = _stamp(path)
    return ring


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_mtime_ns, info.st_size)


def _load_file(path: Path) -> KeyRing:
    if path.stat().st_mode & 0o077:
        raise KeyRingError(f"key file {path} must not be readable by others (chmod 600)")
    stamp = _stamp(path)
    data = json.loads(path.read_text())
    order = [k["id"] for k in data["keys"]]
    return KeyRing(
        keys={k["id"]: base64.b64decode(k["key"]) for k in data["keys"]},
        current_id=order[-1],
        pseudonym_key=base64.b64decode(data["pseudonym_key"]),
        secret_key=base64.b64decode(data["secret_key"]),
        path=path,
        order=order,
        stamp=stamp,
    )


def _load_env(spec: str, pseudonym: str | None, secret: str | None) -> KeyRing:
    pairs = [item.split(":", 1) for item in spec.split(",") if item.strip()]
    if not pairs or not pseudonym or not secret:
        raise KeyRingError(
            "HELPLINE_KEYS needs HELPLINE_PSEUDONYM_KEY and HELPLINE_SECRET_KEY as well"
        )
    keys = {kid.strip(): base64.b64decode(val) for kid, val in pairs}
    order = [kid.strip() for kid, _ in pairs]
    return KeyRing(
        keys, order[-1], base64.b64decode(pseudonym), base64.b64decode(secret), None, order
    )


_ring: KeyRing | None = None
_checked_at = 0.0
_reload_lock = threading.Lock()
# How often a running process looks at the key file's time stamp: after `helpline keys rotate`
# adds a key, every process writes under it within about this long (the rotation waits longer).
RELOAD_CHECK_SECONDS = 1.0


def get_keyring() -> KeyRing:
    """The process's key ring: from the environment, else the key file (created on first use).

    A file-backed ring is read again when the file changed (looked at once a second at most),
    so that a running service picks up a key added by `helpline keys rotate` without a restart.
    """
    global _ring, _checked_at
    if _ring is not None and _ring.path is not None:
        now = time.monotonic()
        if now - _checked_at >= RELOAD_CHECK_SECONDS:
            _checked_at = now
            _reload_if_changed(_ring)
    if _ring is None:
        settings = get_settings()
        if settings.keys is not None:
            _ring = _load_env(
                settings.keys.get_secret_value(),
                settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None,
                settings.secret_key.get_secret_value() if settings.secret_key else None,
            )
        else:
            path = settings.effective_key_file
            _ring = _load_file(path) if path.exists() else _new_ring(path)
    return _ring


def _reload_if_changed(ring: KeyRing) -> bool:
    global _ring
    assert ring.path is not None
    with _reload_lock:
        if _ring is not ring:
            return True  # another thread reloaded meanwhile
        try:
            if _stamp(ring.path) == ring.stamp:
                return False
            _ring = _load_file(ring.path)
        except (OSError, ValueError, KeyError, KeyRingError):
            return False  # half-written or unreadable: keep the ring we have, look again later
        return True


def decrypt_value(token: str, context: str) -> str:
    """Decrypt with the process's ring; a key id it does not know makes it read the key file
    again first (another process rotated), instead of failing until a restart."""
    ring = get_keyring()
    try:
        return ring.decrypt(token, context)
    except UnknownKeyId:
        if ring.path is None or not _reload_if_changed(ring):
            raise
    return get_keyring().decrypt(token, context)


def reset_keyring() -> None:
    global _ring
    _ring = None


class EncryptedText(TypeDecorator[str]):
    """A text column stored AES-GCM encrypted; `context` binds each value to its column."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else get_keyring().encrypt(value, self.context)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else decrypt_value(value, self.context)


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def normalize_receipt_code(text: str) -> str | None:
    """The canonical form of what a person typed, or None if it cannot be a receipt code."""
    code = "".join(ch for ch in text.upper() if ch not in " -_\t\r\n")
    if len(code) != RECEIPT_LENGTH or any(ch not in RECEIPT_ALPHABET for ch in code):
        return None
    return code


def format_receipt_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def receipt_hash(code: str) -> str:
    return get_keyring().keyed_hash("receipt", code)


def receipt_matches(code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(receipt_hash(code), stored_hash)


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings of any characters: `hmac.compare_digest` raises
    TypeError on non-ASCII text, and anyone can submit non-ASCII (a 500, found by the fuzz test)."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))

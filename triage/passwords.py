"""Staff passwords: argon2 hashes, and the rules a password its holder chooses must pass
(data/triage/passwords.yaml)."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from helpline.datafiles import data_yaml

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_ok(stored: str | None, password: str) -> bool:
    """Whether `password` matches the hash; with no hash, as slow as a real check."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def policy() -> dict[str, Any]:
    return data_yaml("triage", "passwords.yaml")


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


def refusal(new: str, username: str, old_hash: str | None) -> str | None:
    """The sentence that refuses `new` as this account's password, or None if it may be used."""
    rules, says = policy(), policy()["messages"]
    if len(new) < rules["min_length"]:
        return says["too_short"].format(n=rules["min_length"])
    if len(new) > rules["max_length"]:
        return says["too_long"].format(n=rules["max_length"])
    squashed = _squash(new)
    if len(set(squashed)) <= 1:
        return says["repeated"]
    if username and username.lower() in squashed:
        return says["contains_username"]
    if squashed in {_squash(str(c)) for c in rules["common"]}:
        return says["common"]
    if old_hash is not None and password_ok(old_hash, new):
        return says["same_as_old"]
    return None

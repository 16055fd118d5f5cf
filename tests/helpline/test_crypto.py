import os
import stat

import pytest

from helpline.crypto import (
    RECEIPT_ALPHABET,
    KeyRingError,
    format_receipt_code,
    get_keyring,
    new_receipt_code,
    normalize_receipt_code,
    receipt_hash,
    receipt_matches,
    reset_keyring,
)
from helpline.settings import get_settings, reset_settings


def test_round_trip_and_key_id_on_every_ciphertext():
    ring = get_keyring()
    token = ring.encrypt("我叫小明，电话13812345678", "messages.text")
    assert token.startswith(f"enc1:{ring.current_id}:")
    assert "小明" not in token and "13812345678" not in token
    assert ring.decrypt(token, "messages.text") == "我叫小明，电话13812345678"


def test_ciphertext_is_bound_to_its_column():
    ring = get_keyring()
    token = ring.encrypt("secret", "messages.text")
    with pytest.raises(KeyRingError):
        ring.decrypt(token, "reporters.contact")


def test_tampered_ciphertext_is_refused():
    ring = get_keyring()
    token = ring.encrypt("secret", "messages.text")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(KeyRingError):
        ring.decrypt(flipped, "messages.text")


def test_key_file_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_VAR_DIR", str(tmp_path))
    reset_settings()
    reset_keyring()
    try:
        get_keyring()
        mode = stat.S_IMODE(os.stat(get_settings().effective_key_file).st_mode)
        assert mode == 0o600
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_keyring()


def test_world_readable_key_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_VAR_DIR", str(tmp_path))
    reset_settings()
    reset_keyring()
    try:
        get_keyring()
        os.chmod(tmp_path / "keys.json", 0o644)
        reset_keyring()
        with pytest.raises(KeyRingError):
            get_keyring()
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_keyring()


def test_pseudonyms_link_a_reporter_without_storing_the_id():
    ring = get_keyring()
    a = ring.pseudonym("telegram", "123456789")
    assert a == ring.pseudonym("telegram", "123456789")
    assert a != ring.pseudonym("telegram", "123456780")
    assert a != ring.pseudonym("web", "123456789")
    assert "123456789" not in a


def test_receipt_codes_are_unambiguous_and_stored_as_hashes():
    codes = {new_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 16 and set(code) <= set(RECEIPT_ALPHABET)
        assert not set(code) & set("0O1IL")
    code = next(iter(codes))
    typed = format_receipt_code(code).lower().replace("-", " ")
    assert normalize_receipt_code(typed) == code
    assert receipt_matches(code, receipt_hash(code))
    assert not receipt_matches(new_receipt_code(), receipt_hash(code))
    assert code not in receipt_hash(code)


@pytest.mark.parametrize("typed", ["", "ABC", "0" * 16, "A" * 17, "<script>alert(1)</script>"])
def test_malformed_receipt_codes_are_rejected(typed):
    assert normalize_receipt_code(typed) is None

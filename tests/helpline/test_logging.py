import io
import json
import logging

from helpline.logs import configure_logging


def _capture(fn) -> str:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        fn(logging.getLogger("helpline.test"))
    finally:
        logging.getLogger().handlers.clear()
    return stream.getvalue()


def test_message_text_and_personal_data_never_reach_the_log():
    secret_text = (
        "我叫李小红，我想自杀，电话13812345678，邮箱 hong@example.com，身份证110101200001011234"
    )

    def write(log):
        log.info("received %s", secret_text)
        log.warning("contact", extra={"phone": "13812345678", "chat_id": 987654321, "case_id": 7})
        try:
            raise ValueError(secret_text)
        except ValueError:
            log.exception("failed")

    out = _capture(write)
    for leaked in ("李小红", "自杀", "13812345678", "hong@example.com", "110101200001011234",
                   "987654321"):
        assert leaked not in out
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[1]["case_id"] == 7
    assert lines[1]["phone"] == "[redacted]"


def test_ids_and_counts_stay_readable():
    out = _capture(lambda log: log.info("case opened", extra={"case_id": 42, "labels": 2}))
    record = json.loads(out)
    assert record["msg"] == "case opened" and record["case_id"] == 42


def test_addresses_and_tokens_are_masked_whole():
    # A second line behind "nothing logs them" (tests/security/test_logs_name_no_one.py): a
    # library or a careless line that writes an address or a token loses all of it.
    token = "q8ZkR2vX7mN4pL1sT9wY3bC6"
    said = (
        f"client 203.0.113.7 and 2001:db8:4:1::2a, mapped ::ffff:198.51.100.3, "
        f"link fe80::1ff:fe23:4567:890a, token {token}, at 17:08:38"
    )
    out = json.loads(_capture(lambda log: log.warning("seen %s", said)))["msg"]
    for leaked in ("203.0.113", "2001:db8", "198.51.100", "fe80", "4567:890a", token[:8]):
        assert leaked not in out, leaked
    assert "17:08:38" in out  # a clock time is not an address

"""Structured JSON logging that keeps message text and personal data out.

Two defences: fields whose names can carry personal data are dropped, and every string that
reaches a log line is scrubbed of Chinese text, phone and ID numbers, e-mail addresses and long
digit runs. Code should log ids and counts only; the filter catches the mistakes.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

SENSITIVE_FIELDS = frozenset(
    {
        "text",
        "message_text",
        "body",
        "content",
        "name",
        "full_name",
        "display_name",
        "phone",
        "contact",
        "email",
        "chat_id",
        "user_id",
        "username",
        "first_name",
        "last_name",
        "address",
        "receipt_code",
        "password",
        "token",
        "id_number",
    }
)
_SCRUBBERS = [
    # Tokens (session, acknowledgement, CSRF: letters and digits mixed, 16 or more), whole:
    # masking some of their characters leaves the rest usable for a guess.
    (re.compile(r"(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{16,}"), "[token]"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "[ip]"),
    # IPv6: eight groups, or fewer around "::" (a clock time like 17:08:38 has neither).
    (
        re.compile(
            r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
            r"|(?:[0-9A-Fa-f]{1,4}:){0,6}(?:[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){0,6}"
            r"[0-9A-Fa-f]{1,4})(?![\w:])"
        ),
        "[ip]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\d{6,}[\dXx]?"), "[number]"),
    (re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+"), "[text]"),
]
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def scrub(value: str) -> str:
    for pattern, repl in _SCRUBBERS:
        value = pattern.sub(repl, value)
    return value


def bare_traceback(exc: BaseException | None) -> str:
    """Where an error happened (files, lines, code and exception types) but not its message:
    a database error's message quotes the submitted values (`[parameters: ('x\\x00',)]`)."""
    if exc is None:
        return ""
    lines: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
        lines[:0] = ["Traceback (most recent call last):\n", *frames, f"{type(exc).__qualname__}\n"]
        exc = exc.__cause__ or exc.__context__
    return "".join(lines).rstrip()


class PrivacyFilter(logging.Filter):
    """Rewrites each record in place so that no handler ever sees personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        for key in list(vars(record)):
            if key in _RESERVED:
                continue
            if key.lower() in SENSITIVE_FIELDS:
                setattr(record, key, "[redacted]")
            elif isinstance(getattr(record, key), str):
                setattr(record, key, scrub(getattr(record, key)))
        if record.exc_info:
            record.exc_text = scrub(bare_traceback(record.exc_info[1]))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = "[traceback withheld]"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Install the JSON handler with the privacy filter on the root logger."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries log request URLs (a Telegram URL carries the bot token) at INFO.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers, lg.propagate = [], True

"""An SMTP sink on 127.0.0.1 (aiosmtpd) that records what it is sent, for tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from email import message_from_bytes
from email.policy import default as email_policy
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        self.sink.attempts += 1
        down = self.sink.refuse_while is not None and self.sink.refuse_while()
        if self.sink.refuse or down or address in self.sink.refuse_to:
            return "550 5.7.1 refused by test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        message = message_from_bytes(envelope.content, policy=email_policy)
        self.sink.messages.append((list(envelope.rcpt_tos), message, time.time()))
        return "250 Message accepted"


class SmtpSink:
    """aiosmtpd on 127.0.0.1; `refuse` makes it reject every recipient."""

    def __init__(self) -> None:
        self.port = free_port()
        self.refuse = False
        self.refuse_to: set[str] = set()
        self.refuse_while: Callable[[], bool] | None = None  # e.g. an outage on a test clock
        self.attempts = 0
        self.messages: list[tuple[list[str], Any, float]] = []
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def bodies(self) -> list[str]:
        return [f"{m['Subject']}\n{m.get_content()}" for _, m, _ in self.messages]

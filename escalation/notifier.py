"""The `Notifier` interface and the registry of notifiers by kind.

A notifier is one way of reaching people: e-mail, Telegram, a webhook, a group robot, the
console, SMS, a voice call. Escalation knows them only through this interface: the delivery
worker looks a delivery's `channel` up here, a person's channels are tried in the order of
their alert profile, and a kind that nobody registered is simply not offered.

To add a notifier, write one module that defines a class with the attributes below and calls
`register(MyNotifier())` at import, then name the module in `NOTIFIER_MODULES`. The module
must not log or return message text, names, addresses or tokens: `NotifyError` labels are
short codes such as `smtp_SMTPRecipientsRefused` or `http_status_500`.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Modules that register notifiers when imported (one line per module).
NOTIFIER_MODULES: tuple[str, ...] = (
    "escalation.notifiers",
    "escalation.phone_alerts",
    "escalation.console_notifier",
)


class NotifyError(RuntimeError):
    """A delivery failed; `str(error)` is a short label without personal data.

    `ambiguous` says the alert may have reached the recipient all the same (a timeout after
    the request was sent): the next attempt is then marked as a possible duplicate.
    """

    def __init__(self, label: str, *, ambiguous: bool = False) -> None:
        super().__init__(label)
        self.ambiguous = ambiguous


class NoticeKind(enum.StrEnum):
    """What a notice is about (a webhook's `type` is `helpline.<kind>`)."""

    alert = "alert"  # an escalation alert of a case
    reack = "reack"  # an acknowledged case without progress, alerted again
    trial = "trial"  # a test alert, no case (escalation.trial_alert)
    statistics = "statistics"  # the monthly statistics are ready (registers.schedule)


@dataclass(frozen=True)
class Acknowledge:
    """How a person confirms an alert: a line with a one-time link (any channel), or a button
    with its label and callback data where the channel has buttons (Telegram)."""

    line: str
    button: str
    callback_data: str


@dataclass(frozen=True)
class Notice:
    """What any message to a person carries, whatever the channel: its kind, a subject, the
    lines of its body and its structured `fields` (what a webhook receives). Never message
    text or names. The recipient and the channel are the delivery's (`Target`, the notifier's
    kind). Only an alert has an `alert_id` (a receiver drops duplicates by it, a phone receipt
    finds its alert) and a way to be acknowledged."""

    kind: NoticeKind
    subject: str
    body: tuple[str, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)
    alert_id: int | None = None
    acknowledge: Acknowledge | None = None
    # This alert may have reached the recipient already (a crash or a timeout after sending).
    possible_duplicate: bool = False

    def lines(self) -> list[str]:
        """The body, and the acknowledgement line for channels without a button."""
        return [*self.body, *([self.acknowledge.line] if self.acknowledge else [])]


@dataclass(frozen=True)
class Contact:
    """What a notifier may use to reach one staff member (decrypted only in memory)."""

    staff_id: int
    email: str | None = None
    phone: str | None = None
    telegram_chat_id: str | None = None
    webhook: str | None = None


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: a person's address, or a group channel's URL and secret."""

    address: str
    secret: str | None = None
    staff_id: int | None = None


@runtime_checkable
class Notifier(Protocol):
    """One kind of channel. `kind` is the name used in profiles, policies and the log."""

    kind: str
    personal: bool  # can reach a staff member through their Contact
    group: bool  # can serve an organisation's alert channel (alert_channels: url + secret)

    def ready(self) -> bool:
        """Configured at all (e.g. a bot token is set); a kind not ready is not offered."""
        ...

    def address(self, contact: Contact) -> str | None:
        """This person's address on this channel, or None when they have none."""
        ...

    async def send(self, target: Target, notice: Notice) -> None:
        """Deliver one notice or raise NotifyError (never another exception on purpose)."""
        ...


_registry: dict[str, Notifier] = {}
_loaded = False


def register(notifier: Notifier) -> Notifier:
    """Add (or replace, e.g. in a test) the notifier of `notifier.kind`."""
    if not isinstance(notifier, Notifier):
        raise TypeError("not a Notifier")
    _registry[notifier.kind] = notifier
    return notifier


def unregister(kind: str) -> None:
    _registry.pop(kind, None)


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in NOTIFIER_MODULES:
            importlib.import_module(module)


def get(kind: str) -> Notifier | None:
    _load()
    return _registry.get(kind)


def kinds() -> list[str]:
    """Every registered kind, in registration order."""
    _load()
    return list(_registry)


def group_kinds() -> set[str]:
    _load()
    return {kind for kind, found in _registry.items() if found.group}


def alongside(kind: str) -> bool:
    """A kind that goes out next to a person's other channels instead of in their order
    (the console: an alert stored there may not be seen while nobody is signed in)."""
    found = get(kind)
    return bool(getattr(found, "alongside", False))


def personal_kinds(order: list[str]) -> list[Notifier]:
    """The ready personal notifiers of `order` (unknown or unready kinds left out)."""
    _load()
    found = [_registry.get(kind) for kind in dict.fromkeys(order)]
    return [n for n in found if n is not None and n.personal and n.ready()]

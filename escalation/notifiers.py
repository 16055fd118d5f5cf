"""Notifiers: Telegram, e-mail, generic webhook, WeCom and DingTalk group robots.

They send a `Notice` (escalation.notifier): an alert, a test alert or the statistics notice.
An alert carries NO message text and NO names: case number, category, urgency, the nearest
deadline, a link to the case (which needs a login) and a one-time acknowledgement link
(`AlertInfo`, made into a notice by `AlertInfo.notice`).
Each sender raises NotifyError with a short label (logged and kept in the delivery log).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

import certifi

from escalation import http1
from escalation.config import settings
from escalation.notifier import (
    Acknowledge,
    Contact,
    Notice,
    NoticeKind,
    NotifyError,
    Target,
    register,
)
from helpline.settings import get_settings


@dataclass(frozen=True)
class AlertInfo:
    alert_id: int
    number: str
    category: str
    urgency: str
    deadline: str
    link: str
    ack_link: str
    callback_data: str
    reack: bool = False
    # This alert may have reached the recipient already (a crash or a timeout after sending).
    possible_duplicate: bool = False

    def title(self) -> str:
        words = settings()["alert"]
        template = words["reack_title"] if self.reack else words["title"]
        title = template.format(**self.fields())
        return words["duplicate_prefix"] + title if self.possible_duplicate else title

    def notice(self) -> Notice:
        """The alert as the notifiers send it (its words from data/escalation: `alert`)."""
        words, fields = settings()["alert"], self.fields()
        return Notice(
            kind=NoticeKind.reack if self.reack else NoticeKind.alert,
            subject=self.title(),
            body=tuple(line.format(**fields) for line in words["lines"]),
            fields=fields,
            alert_id=self.alert_id,
            acknowledge=Acknowledge(
                words["ack_line"].format(**fields), words["button"], self.callback_data
            ),
            possible_duplicate=self.possible_duplicate,
        )

    def fields(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "category": self.category,
            "urgency": self.urgency,
            "deadline": self.deadline,
            "link": self.link,
            "ack_link": self.ack_link,
        }


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    # Building a TLS context costs ~40 ms: build it once, not once per alert.
    return ssl.create_default_context(cafile=certifi.where())


def _timeout() -> float:
    return float(settings()["delivery"]["timeout_seconds"])


async def send_telegram(chat_id: str, notice: Notice) -> None:
    """A message to a staff member's chat; an alert has an inline Acknowledge button."""
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.error import TelegramError

    conf = get_settings()
    if conf.telegram_token is None:
        raise NotifyError("telegram_not_configured")
    ack = notice.acknowledge
    buttons = (
        InlineKeyboardMarkup([[InlineKeyboardButton(ack.button, callback_data=ack.callback_data)]])
        if ack
        else None
    )
    try:
        async with Bot(
            conf.telegram_token.get_secret_value(), base_url=conf.telegram_base_url
        ) as bot:
            await bot.send_message(
                chat_id=int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                text="\n".join([notice.subject, *notice.body]),
                reply_markup=buttons,
                read_timeout=_timeout(),
                write_timeout=_timeout(),
                connect_timeout=_timeout(),
            )
    except TelegramError as exc:
        from telegram.error import TimedOut

        ambiguous = isinstance(exc, TimedOut)
        raise NotifyError(f"telegram_{type(exc).__name__}", ambiguous=ambiguous) from exc


def _send_mail_sync(to: str, notice: Notice) -> None:
    conf = get_settings()
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = conf.smtp_sender
    message["To"] = to
    message["X-Helpline-Notice"] = notice.kind
    if notice.alert_id is not None:
        message["X-Helpline-Alert-Id"] = str(notice.alert_id)
    if notice.possible_duplicate:
        message["X-Helpline-Possible-Duplicate"] = "1"
    message.set_content("\n".join(notice.lines()) + "\n")
    with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=_timeout()) as smtp:
        if conf.smtp_user and conf.smtp_password is not None:
            smtp.starttls()
            smtp.login(conf.smtp_user, conf.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_email(to: str, notice: Notice) -> None:
    try:
        await asyncio.to_thread(_send_mail_sync, to, notice)
    except (OSError, smtplib.SMTPException) as exc:
        # A timeout or a dropped connection may come after the server took the message.
        ambiguous = isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected)
        raise NotifyError(f"smtp_{type(exc).__name__}", ambiguous=ambiguous) from exc


class HttpLanes:
    """A few kept-alive HTTP/1.1 connections, one lane per concurrent send.

    Webhooks and robots go through escalation.http1 (one buffer written per request): measured
    in benchmarks/escalation.py, httpx's and then httpcore's request machinery was most of a
    worker's CPU per alert, and alerts are CPU-bound on a loaded host. A worker keeps its
    lanes over back-to-back batches (a drain) and closes them when it runs out of work; a
    connection idle longer than `http1.KEEP_IDLE_SECONDS` is not reused.
    """

    def __init__(self, size: int) -> None:
        self._free: asyncio.Queue[http1.Lane] = asyncio.Queue()
        self._all = [http1.Lane(tls_context()) for _ in range(max(1, size))]
        self.timeout = _timeout()  # read once for the lanes, not once per alert
        for lane in self._all:
            self._free.put_nowait(lane)

    async def post(self, url: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> http1.Answer:
        lane = await self._free.get()
        try:
            return await _request(lane, url, body, headers, self.timeout)
        finally:
            self._free.put_nowait(lane)

    def close(self) -> None:
        for lane in self._all:
            lane.close()


async def _request(
    lane: http1.Lane, url: str, body: bytes, headers: list[tuple[bytes, bytes]], limit_s: float
) -> http1.Answer:
    try:
        return await lane.post(url, body, headers, limit_s)
    except http1.HttpError as exc:
        # A request that may have reached the receiver (read timeout, dropped answer) is
        # ambiguous: the next attempt is marked as a possible duplicate.
        raise NotifyError(f"http_{exc.name}", ambiguous=exc.sent) from exc


_http: ContextVar[HttpLanes | None] = ContextVar("escalation_http", default=None)


@contextmanager
def using(shared: HttpLanes) -> Iterator[HttpLanes]:
    """Send this context's webhook and robot alerts through `shared` (a worker's lanes)."""
    token = _http.set(shared)
    try:
        yield shared
    finally:
        _http.reset(token)


@asynccontextmanager
async def shared_http(lanes: int = 8) -> AsyncIterator[HttpLanes]:
    """Kept-alive connections for a batch of deliveries, `lanes` sends at a time."""
    shared = HttpLanes(lanes)
    try:
        with using(shared):
            yield shared
    finally:
        shared.close()


async def _post(url: str, payload: dict[str, Any], notice: Notice, check_errcode: bool) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"Content-Type", b"application/json")]
    if notice.alert_id is not None:
        headers.append((b"X-Helpline-Alert-Id", str(notice.alert_id).encode()))
    if notice.possible_duplicate:
        headers.append((b"X-Helpline-Possible-Duplicate", b"1"))
    shared = _http.get()
    if shared is not None:
        response = await shared.post(url, body, headers)
    else:
        lane = http1.Lane(tls_context())
        try:
            response = await _request(lane, url, body, headers, _timeout())
        finally:
            lane.close()
    if response.status >= 300:
        raise NotifyError(f"http_status_{response.status}")
    if check_errcode:
        try:
            code = json.loads(response.content).get("errcode", 0)
        except (ValueError, AttributeError) as exc:
            raise NotifyError("robot_bad_answer") from exc
        if code != 0:
            raise NotifyError(f"robot_errcode_{code}")


async def send_webhook(url: str, notice: Notice) -> None:
    """Generic JSON webhook: the notice's fields; an alert's `alert_id` lets a receiver drop
    duplicates."""
    alert = {"alert_id": notice.alert_id} if notice.alert_id is not None else {}
    payload = {
        "type": f"helpline.{notice.kind}",
        **alert,
        "title": notice.subject,
        "possible_duplicate": notice.possible_duplicate,
        **notice.fields,
    }
    await _post(url, payload, notice, check_errcode=False)


def _markdown(notice: Notice) -> str:
    return "\n".join([f"**{notice.subject}**", *(f"> {line}" for line in notice.lines())])


async def send_wecom(url: str, notice: Notice) -> None:
    """WeCom (企业微信) group robot: {"msgtype": "markdown", "markdown": {"content": ...}}."""
    payload = {"msgtype": "markdown", "markdown": {"content": _markdown(notice)}}
    await _post(url, payload, notice, check_errcode=True)


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk robot signing: HMAC-SHA256 of "timestamp\\nsecret", base64, URL-encoded."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


async def send_dingtalk(url: str, secret: str | None, notice: Notice) -> None:
    """DingTalk (钉钉) group robot: markdown message, signed when the robot has a secret."""
    target = dingtalk_signed_url(url, secret) if secret else url
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": notice.subject, "text": _markdown(notice)},
    }
    await _post(target, payload, notice, check_errcode=True)


class _Group:
    """A group robot or hook: reached through an alert channel's URL, never a person."""

    personal, group = False, True

    def ready(self) -> bool:
        return True

    def address(self, contact: Contact) -> str | None:
        return None


class EmailNotifier:
    kind, personal, group = "email", True, False

    def ready(self) -> bool:
        return True

    def address(self, contact: Contact) -> str | None:
        return contact.email

    async def send(self, target: Target, notice: Notice) -> None:
        await send_email(target.address, notice)


class TelegramNotifier:
    kind, personal, group = "telegram", True, False

    def ready(self) -> bool:
        return get_settings().telegram_token is not None

    def address(self, contact: Contact) -> str | None:
        return contact.telegram_chat_id

    async def send(self, target: Target, notice: Notice) -> None:
        await send_telegram(target.address, notice)


class WebhookNotifier:
    """A generic JSON webhook: a group channel, or a person's own hook from their profile."""

    kind, personal, group = "webhook", True, True

    def ready(self) -> bool:
        return True

    def address(self, contact: Contact) -> str | None:
        return contact.webhook

    async def send(self, target: Target, notice: Notice) -> None:
        await send_webhook(target.address, notice)


class WecomNotifier(_Group):
    kind = "wecom"

    async def send(self, target: Target, notice: Notice) -> None:
        await send_wecom(target.address, notice)


class DingtalkNotifier(_Group):
    kind = "dingtalk"

    async def send(self, target: Target, notice: Notice) -> None:
        await send_dingtalk(target.address, target.secret, notice)


for _notifier in (
    EmailNotifier(),
    TelegramNotifier(),
    WebhookNotifier(),
    WecomNotifier(),
    DingtalkNotifier(),
):
    register(_notifier)

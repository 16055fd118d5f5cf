"""The WeChat Official Account API as the help line uses it, on wechatpy's WeChatClient.

Replies go out through the customer-service message API (`/cgi-bin/message/custom/send`),
which may write to a follower for 48 hours after their last message. The access token comes
from `/cgi-bin/token`, is cached (wechatpy's session storage) and refreshed a minute before it
expires; a token WeChat calls expired or invalid (errcode 40001, 40014, 42001: another process
may have fetched a newer one) is fetched again and the call retried ONCE.
wechatpy is synchronous (requests): calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from helpline.settings import get_settings

log = logging.getLogger(__name__)
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# The follower cannot be written to now: outside the 48-hour window (45015), unfollowed
# (43004), or not a follower of this account (40003); WeCom customer service: the session
# cannot take a message now (95018).
UNREACHABLE_ERRORS = frozenset({45015, 43004, 40003, 95018})
TEXT_CHUNK = 600  # characters; WeChat's custom text limit is counted in bytes (2048)
TIMEOUT_SECONDS = 10


class WeChatError(RuntimeError):
    """A call failed; `str(error)` is a short label (errcode or exception name), no content."""

    def __init__(self, label: str, errcode: int | None = None) -> None:
        super().__init__(label)
        self.errcode = errcode

    @property
    def unreachable(self) -> bool:
        return self.errcode in UNREACHABLE_ERRORS


class HelplineWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client on a configurable API host (a stand-in in tests)."""

    def __init__(self, appid: str, secret: str, api_base: str) -> None:
        # auto_retry off: wechatpy would retry a token error without limit.
        super().__init__(appid, secret, timeout=TIMEOUT_SECONDS, auto_retry=False)
        self.API_BASE_URL = f"{api_base.rstrip('/')}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        """GET /cgi-bin/token, kept in wechatpy's session storage as wechatpy does (its own
        fetch has no timeout: a hung server would hang the reply forever)."""
        response = self._http.get(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=TIMEOUT_SECONDS,
        )
        return keep_token(self, response)


def keep_token(api: Any, response: Any) -> dict[str, Any]:
    """Store a token answer in the client's session storage, as wechatpy does."""
    result = api._handle_result(response)
    if not isinstance(result, dict) or "access_token" not in result:
        raise WeChatClientException(None, "no access token", client=api)
    expires_in = int(result.get("expires_in", 7200))
    api.session.set(api.access_token_key, result["access_token"], expires_in)
    api.expires_at = int(time.time()) + expires_in
    return result


C = TypeVar("C")


class OneClient(Generic[C]):  # noqa: UP046 - Python 3.11
    """One client (and so one cached token) per process and configuration: a changed id,
    secret or API host makes a new one (the Official Account's and WeCom's)."""

    def __init__(self, make: Callable[[str, str, str], C]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._client: tuple[tuple[str, str, str], C] | None = None

    def get(self, key: tuple[str, str, str]) -> C:
        with self._lock:
            if self._client is None or self._client[0] != key:
                self._client = (key, self._make(*key))
            return self._client[1]

    def reset(self) -> None:
        with self._lock:
            self._client = None


_clients = OneClient(HelplineWeChatClient)


def configured() -> bool:
    conf = get_settings()
    return bool(conf.wechat_token and conf.wechat_appid and conf.wechat_secret)


def client() -> HelplineWeChatClient:
    conf = get_settings()
    if not configured():
        raise WeChatError("wechat_not_configured")
    assert conf.wechat_appid and conf.wechat_secret
    return _clients.get(
        (conf.wechat_appid, conf.wechat_secret.get_secret_value(), conf.wechat_api_base)
    )


def reset() -> None:
    """Forget the client and its cached token (tests; a changed secret)."""
    _clients.reset()


def _call(action: str, func: Any, *args: Any) -> Any:
    return call_with(client(), action, func, *args)


def call_with(api: Any, action: str, func: Any, *args: Any) -> Any:
    """Run one API call; a token WeChat refuses is fetched again and the call retried once."""
    for attempt in (1, 2):
        try:
            return func(api, *args)
        except WeChatClientException as exc:
            code = _errcode(exc)
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("wechat access token refused, fetching a new one", extra={"errcode": code})
                try:
                    api.fetch_access_token()
                except WeChatClientException as again:
                    raise WeChatError(f"wechat_token_{_errcode(again)}", _errcode(again)) from again
                continue
            raise WeChatError(f"wechat_{action}_{code}", code) from exc
        except Exception as exc:  # requests' network errors and the like
            raise WeChatError(f"wechat_{action}_{type(exc).__name__}") from exc
    raise AssertionError("unreachable")


def _errcode(exc: WeChatClientException) -> int | None:
    code = getattr(exc, "errcode", None)
    return int(code) if code is not None else None


def _send_text(api: HelplineWeChatClient, openid: str, text: str) -> None:
    api.message.send_text(openid, text)


def fetch_media(api: Any, media_id: str) -> tuple[bytes, str]:
    """GET media/get on either client (Official Account or WeCom): content and MIME type.

    Not the clients' own `media.download`: wechatpy's WeCom one ignores API_BASE_URL (a fixed
    qyapi.weixin.qq.com address, no timeout, no errcode check). A JSON answer with an errcode
    is raised by wechatpy; any other JSON is not a file."""
    response = api.get("media/get", params={"media_id": media_id})
    if isinstance(response, dict):
        raise WeChatClientException(None, "not a file", client=api)
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    return bytes(response.content), content_type.split(";")[0].strip()


def chunks(text: str, size: int = TEXT_CHUNK) -> list[str]:
    from bot.delivery import chunks as split

    return split(text, size)


async def send_text(openid: str, text: str) -> None:
    """Send a text to a follower (split into parts WeChat accepts), in order."""
    for part in chunks(text):
        await asyncio.to_thread(_call, "send", _send_text, openid, part)


async def download(media_id: str) -> tuple[bytes, str]:
    """A follower's image or voice (temporary media): content and MIME type."""
    result: tuple[bytes, str] = await asyncio.to_thread(_call, "media", fetch_media, media_id)
    return result

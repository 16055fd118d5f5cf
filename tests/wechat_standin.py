"""A local stand-in of the WeChat Official Account platform over real HTTP.

Both directions, as WeChat does them:
- it PUSHES followers' messages and events to the help line's `/wechat` URL, signed and (in
  safe mode) encrypted exactly as WeChat documents it; the crypto here is written from the
  documented algorithm with `cryptography`, independently of wechatpy, so that a test checks
  that the two interoperate:
    signature     = sha1(sorted([token, timestamp, nonce]) joined)
    AESKey        = base64decode(EncodingAESKey + "="), 32 bytes; IV = AESKey[:16]
    plaintext     = random(16) + len(msg) as 4 bytes network order + msg + AppID
    Encrypt       = base64(AES-256-CBC(PKCS#7 padded to 32-byte blocks (plaintext)))
    msg_signature = sha1(sorted([token, timestamp, nonce, Encrypt]) joined)
- it SERVES the API the help line calls: `GET /cgi-bin/token` (appid and secret checked),
  `POST /cgi-bin/message/custom/send` (token checked: an expired one answers errcode 42001),
  `GET /cgi-bin/media/get`. Calls are recorded; faults can be injected.

    with WeChatStandin(token, aes_key, appid, secret) as wx:
        await wx.push(app_url, wx.text("openid-1", "你好"))
        sent = wx.wait_for_texts("openid-1", 1)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.standin import Standin

BLOCK = 32  # WeChat pads to 32-byte blocks, not AES's 16


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def pkcs7_pad(data: bytes) -> bytes:
    count = BLOCK - len(data) % BLOCK
    return data + bytes([count]) * count


def pkcs7_unpad(data: bytes) -> bytes:
    count = data[-1]
    if not 1 <= count <= BLOCK or data[-count:] != bytes([count]) * count:
        raise ValueError("bad padding")
    return data[:-count]


def encrypt(aes_key: str, appid: str, xml: str) -> str:
    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    plain = os.urandom(16) + len(body).to_bytes(4, "big") + body + appid.encode()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()).decode()


def decrypt(aes_key: str, appid: str, encrypted: str) -> str:
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = pkcs7_unpad(decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize())
    length = int.from_bytes(plain[16:20], "big")
    if plain[20 + length :].decode() != appid:
        raise ValueError("wrong appid")
    return plain[20 : 20 + length].decode()


def new_aes_key() -> str:
    """An EncodingAESKey: 43 characters of base64 (32 bytes without the trailing '=')."""
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


def wait_until(
    changed: threading.Condition, collect: Any, count: int, timeout: float, what: str
) -> list[str]:
    """Wait (holding `changed`) until `collect()` has `count` items; return them."""
    deadline = time.monotonic() + timeout
    with changed:
        while True:
            found: list[str] = collect()
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{count} texts to {what} expected, got {found}")
            changed.wait(left)


@dataclass
class Sent:
    touser: str
    msgtype: str
    content: str
    token: str
    at: float


@dataclass
class _State:
    changed: threading.Condition = field(default_factory=threading.Condition)
    tokens: dict[str, bool] = field(default_factory=dict)  # token -> still valid
    token_requests: int = 0
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)  # (touser, errcode)
    out_of_window: set[str] = field(default_factory=set)
    fail_sends: int = 0
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # id -> content, MIME


class _ServesMedia:
    """`GET /cgi-bin/media/get`, as both platforms answer it: the file, or an errcode."""

    state: Any

    def _token_error(self, token: str | None) -> int | None:
        raise NotImplementedError

    def keep_media(self, media_id: str, content: bytes, mime: str) -> None:
        with self.state.changed:
            self.state.media[media_id] = (content, mime)

    async def _media(self, request: Request) -> Response:
        q = request.query_params
        with self.state.changed:
            code = self._token_error(q.get("access_token"))
            found = self.state.media.get(q.get("media_id", ""))
        if code is not None:
            return JSONResponse({"errcode": code, "errmsg": "access_token invalid"})
        if found is None:
            return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
        content, mime = found
        return Response(content, media_type=mime)


class WeChatStandin(_ServesMedia, Standin):
    name = "wechat stand-in"

    def __init__(
        self,
        token: str = "standin-token-1",
        aes_key: str | None = None,
        appid: str = "wx00standin0001",
        secret: str = "standin-secret",  # noqa: S107 - a test value
    ) -> None:
        self.token, self.appid, self.secret = token, appid, secret
        self.aes_key = aes_key or new_aes_key()
        self.account = "gh_standin0001"
        self.state = _State()
        self._msg_id = 7_000_000_000_000_000_000

    def routes(self) -> list[Route]:
        return [
            Route("/cgi-bin/token", self._token, methods=["GET"]),
            Route("/cgi-bin/message/custom/send", self._custom_send, methods=["POST"]),
            Route("/cgi-bin/media/get", self._media, methods=["GET"]),
        ]

    # -- pushes (WeChat -> the help line) ------------------------------------------------------
    def next_msg_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    def _xml(self, openid: str, fields: dict[str, Any]) -> str:
        parts = [
            f"<ToUserName><![CDATA[{self.account}]]></ToUserName>",
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
            f"<CreateTime>{int(time.time())}</CreateTime>",
        ]
        for name, value in fields.items():
            if isinstance(value, int):
                parts.append(f"<{name}>{value}</{name}>")
            else:
                parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
        return "<xml>" + "".join(parts) + "</xml>"

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        fields = {"MsgType": "text", "Content": content, "MsgId": msg_id or self.next_msg_id()}
        return self._xml(openid, fields)

    def voice(self, openid: str, recognition: str, recording: bytes | None = None) -> str:
        """A voice message; `recording` (AMR bytes) is what media/get then serves for it."""
        media_id = f"voice-media-{self.next_msg_id()}"
        if recording is not None:
            self.keep_media(media_id, recording, "audio/amr")
        return self._xml(
            openid,
            {
                "MsgType": "voice",
                "MediaId": media_id,
                "Format": "amr",
                "Recognition": recognition,
                "MsgId": self.next_msg_id(),
            },
        )

    def image(self, openid: str, media_id: str, content: bytes) -> str:
        self.keep_media(media_id, content, "image/jpeg")
        fields = {
            "MsgType": "image",
            "PicUrl": "http://mmbiz.standin/pic.jpg",
            "MediaId": media_id,
            "MsgId": self.next_msg_id(),
        }
        return self._xml(openid, fields)

    def event(self, openid: str, event: str) -> str:
        return self._xml(openid, {"MsgType": "event", "Event": event})

    def signed_query(
        self, body_encrypt: str | None, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        query = {
            "signature": sha1_signature(self.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
        }
        if body_encrypt is not None:
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sha1_signature(self.token, stamp, nonce, body_encrypt)
        return query

    def envelope(
        self, xml: str, openid: str, encrypted: bool = True, **kw: Any
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body of a push, as WeChat would send them."""
        if not encrypted:
            query = self.signed_query(None, **kw)
            query["openid"] = openid
            return query, xml.encode()
        encrypted_xml = encrypt(self.aes_key, self.appid, xml)
        query = self.signed_query(encrypted_xml, **kw)
        query["openid"] = openid
        body = (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted_xml}]]></Encrypt></xml>"
        )
        return query, body.encode()

    async def push(
        self, url: str, xml: str, openid: str, encrypted: bool = True, **kw: Any
    ) -> httpx.Response:
        """POST one push to the help line's `/wechat` over HTTP."""
        query, body = self.envelope(xml, openid, encrypted, **kw)
        return await self.post(url, query, body)

    @staticmethod
    async def post(url: str, query: dict[str, str], body: bytes) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(
                f"{url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"}
            )

    async def verify_url(self, url: str, echostr: str = "echo-12345") -> httpx.Response:
        query = self.signed_query(None)
        query["echostr"] = echostr
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.get(f"{url}/wechat", params=query)

    # -- what tests do ---------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (errcode 42001 on its next use)."""
        with self.state.changed:
            for token in self.state.tokens:
                self.state.tokens[token] = False

    def fail_next_sends(self, count: int) -> None:
        with self.state.changed:
            self.state.fail_sends = count

    def close_window(self, openid: str, closed: bool = True) -> None:
        """Pretend the follower's 48-hour window has passed (errcode 45015)."""
        with self.state.changed:
            (self.state.out_of_window.add if closed else self.state.out_of_window.discard)(openid)

    def texts_to(self, openid: str) -> list[str]:
        with self.state.changed:
            return [s.content for s in self.state.sent if s.touser == openid]

    def wait_for_texts(self, openid: str, count: int, timeout: float = 90) -> list[str]:
        def collect() -> list[str]:
            return [s.content for s in self.state.sent if s.touser == openid]

        return wait_until(self.state.changed, collect, count, timeout, openid)

    # -- the API (the help line -> WeChat) ---------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        q = request.query_params
        with self.state.changed:
            self.state.token_requests += 1
            if q.get("grant_type") != "client_credential" or q.get("appid") != self.appid:
                return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
            if q.get("secret") != self.secret:
                return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
            token = f"ACCESS-{secrets.token_hex(8)}"
            self.state.tokens[token] = True
        return JSONResponse({"access_token": token, "expires_in": 7200})

    def _token_error(self, token: str | None) -> int | None:
        if token is None or token not in self.state.tokens:
            return 40001
        if not self.state.tokens[token]:
            return 42001
        return None

    async def _custom_send(self, request: Request) -> Response:
        token = request.query_params.get("access_token")
        raw = await request.body()
        with self.state.changed:
            if self.state.fail_sends > 0:
                self.state.fail_sends -= 1
                return Response("busy", status_code=503)
            code = self._token_error(token)
            if code is not None:
                return JSONResponse({"errcode": code, "errmsg": "access_token invalid"})
            data = json.loads(raw)
            touser = str(data.get("touser", ""))
            if data.get("msgtype") != "text" or not isinstance(data.get("text"), dict):
                return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
            if touser in self.state.out_of_window:
                self.state.refused.append((touser, 45015))
                return JSONResponse({"errcode": 45015, "errmsg": "response out of time limit"})
            content = str(data["text"].get("content", ""))
            if len(content.encode()) > 2048:
                return JSONResponse({"errcode": 45002, "errmsg": "content size out of limit"})
            assert token is not None
            self.state.sent.append(Sent(touser, "text", content, token, time.monotonic()))
            self.state.changed.notify_all()
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


@dataclass
class _KfState:
    changed: threading.Condition = field(default_factory=threading.Condition)
    tokens: dict[str, bool] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)  # what sync_msg serves
    event_tokens: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)


class WeComStandin(_ServesMedia, Standin):
    """WeCom customer service (微信客服): the `kf_msg_or_event` callback (always encrypted,
    the CorpID as receive id), `/cgi-bin/gettoken`, `/cgi-bin/kf/sync_msg` (cursor paging,
    the event's token checked), `/cgi-bin/kf/send_msg`, `/cgi-bin/media/get`."""

    def __init__(self) -> None:
        self.corp_id, self.secret = "ww00standin0001", "kf-secret-1"
        self.token, self.aes_key = "wecom-token-1", new_aes_key()
        self.open_kfid = "wkSTANDIN0001"
        self.state = _KfState()
        self._n = 0

    def routes(self) -> list[Route]:
        return [
            Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
            Route("/cgi-bin/kf/sync_msg", self._sync, methods=["POST"]),
            Route("/cgi-bin/kf/send_msg", self._send, methods=["POST"]),
            Route("/cgi-bin/media/get", self._media, methods=["GET"]),
        ]

    # -- the customer writes --------------------------------------------------------------------
    def customer_sends(self, user: str, msgtype: str, content: bytes, mime: str) -> str:
        """An image or voice item (no recognition: kf/sync_msg carries only a media_id)."""
        media_id = f"kfmedia{self._n + 1:05d}"
        self.keep_media(media_id, content, mime)
        return self.customer_says(user, media_id, msgtype)

    def customer_says(self, user: str, content: str, msgtype: str = "text") -> str:
        self._n += 1
        item: dict[str, Any] = {
            "msgid": f"kfmsg{self._n:05d}",
            "open_kfid": self.open_kfid,
            "external_userid": user,
            "send_time": int(time.time()),
            "origin": 3,
            "msgtype": msgtype,
        }
        item[msgtype] = {"content": content} if msgtype == "text" else {"media_id": content}
        with self.state.changed:
            self.state.messages.append(item)
        return str(item["msgid"])

    def event_envelope(self, **kw: Any) -> tuple[dict[str, str], bytes]:
        token = f"ENC{secrets.token_hex(8)}"
        self.state.event_tokens.add(token)
        xml = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{self.open_kfid}]]></OpenKfId></xml>"
        )
        encrypted = encrypt(self.aes_key, self.corp_id, xml)
        stamp = str(kw.get("timestamp", int(time.time())))
        nonce = str(kw.get("nonce", secrets.randbelow(10**10)))
        query = {
            "msg_signature": sha1_signature(self.token, stamp, nonce, encrypted),
            "timestamp": stamp,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
        )
        return query, body.encode()

    async def notify(self, url: str, **kw: Any) -> httpx.Response:
        query, body = self.event_envelope(**kw)
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(f"{url}/wecom", params=query, content=body)

    async def verify_url(self, url: str, echo: str = "wecom-echo-1") -> httpx.Response:
        encrypted = encrypt(self.aes_key, self.corp_id, echo)
        stamp, nonce = str(int(time.time())), "12345"
        query = {
            "msg_signature": sha1_signature(self.token, stamp, nonce, encrypted),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.get(f"{url}/wecom", params=query)

    def sent_to(self, user: str) -> list[str]:
        with self.state.changed:
            return [s["text"]["content"] for s in self.state.sent if s["touser"] == user]

    def wait_for_sent(self, user: str, count: int, timeout: float = 90) -> list[str]:
        def collect() -> list[str]:
            return [s["text"]["content"] for s in self.state.sent if s["touser"] == user]

        return wait_until(self.state.changed, collect, count, timeout, user)

    # -- the API -------------------------------------------------------------------------------
    async def _gettoken(self, request: Request) -> Response:
        q = request.query_params
        if q.get("corpid") != self.corp_id or q.get("corpsecret") != self.secret:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        token = f"WECOM-{secrets.token_hex(8)}"
        with self.state.changed:
            self.state.tokens[token] = True
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    def _token_error(self, token: str | None) -> int | None:
        if token is None or token not in self.state.tokens:
            return 40014
        return None if self.state.tokens[token] else 42001

    async def _sync(self, request: Request) -> Response:
        data = json.loads(await request.body())
        with self.state.changed:
            code = self._token_error(request.query_params.get("access_token"))
            if code is not None:
                return JSONResponse({"errcode": code, "errmsg": "access_token invalid"})
            if data.get("token") not in self.state.event_tokens:
                return JSONResponse({"errcode": 95007, "errmsg": "invalid msg token"})
            self.state.syncs.append(data)
            start = int(data.get("cursor") or 0)
            page = self.state.messages[start : start + 2]  # small pages: paging is exercised
            end = start + len(page)
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "next_cursor": str(end),
                    "has_more": int(end < len(self.state.messages)),
                    "msg_list": page,
                }
            )

    async def _send(self, request: Request) -> Response:
        data = json.loads(await request.body())
        with self.state.changed:
            code = self._token_error(request.query_params.get("access_token"))
            if code is not None:
                return JSONResponse({"errcode": code, "errmsg": "access_token invalid"})
            if data.get("open_kfid") != self.open_kfid or data.get("msgtype") != "text":
                return JSONResponse({"errcode": 95000, "errmsg": "invalid open_kfid"})
            self.state.sent.append(data)
            self.state.changed.notify_all()
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(6)})

"""`/wechat`: the Official Account's server URL (GET: URL verification, POST: pushes).

Every push is checked before anything is read: the signature (SHA-1 of the sorted token,
timestamp and nonce), a timestamp within 5 minutes, and in safe mode (HELPLINE_WECHAT_AES_KEY
set) the encrypted body's msg_signature and AppID (wechatpy's WeChatCrypto); a plaintext push
is refused in safe mode. A (timestamp, nonce) pair already taken is a replay: 403. A MsgId
already taken is WeChat retrying a push (it does after 5 s without an answer): "success", and
nothing is stored or sent twice. The push is stored, committed, answered "success", and only
then are the replies sent through the customer-service API.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from bot import flow, texts, wechat_api
from bot import wechat_chats as chats
from bot.wechat_handlers import Outcome, handle, store_media
from helpline.db import session_scope
from helpline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter()
PATH = "/wechat"
MAX_PUSH_BYTES = 65_536
MAX_CLOCK_SKEW_SECONDS = 300
SEND_RETRY_SECONDS = (0.5, 2.0)
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _plain(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status)


def _signed(params: dict[str, str]) -> bool:
    token = get_settings().wechat_token
    if token is None:
        return False
    try:
        check_signature(
            token.get_secret_value(),
            params.get("signature", ""),
            params.get("timestamp", ""),
            params.get("nonce", ""),
        )
    except InvalidSignatureException:
        return False
    return True


def _fresh(timestamp: str) -> bool:
    try:
        return abs(time.time() - int(timestamp)) <= MAX_CLOCK_SKEW_SECONDS
    except ValueError:
        return False


def _crypto() -> WeChatCrypto | None:
    conf = get_settings()
    if conf.wechat_aes_key is None or conf.wechat_token is None or conf.wechat_appid is None:
        return None
    return WeChatCrypto(
        conf.wechat_token.get_secret_value(),
        conf.wechat_aes_key.get_secret_value(),
        conf.wechat_appid,
    )


@router.get(PATH, include_in_schema=False)
async def verify_url(request: Request) -> Response:
    """WeChat's server configuration check: echo `echostr` when the signature is right."""
    if not wechat_api.configured():
        return _plain(404, "wechat channel not configured")
    params = dict(request.query_params)
    if not _signed(params) or not _fresh(params.get("timestamp", "")):
        log.info("wechat url verification refused")
        return _plain(403, "signature missing, wrong or stale")
    return _plain(200, params.get("echostr", ""))


@router.post(PATH, include_in_schema=False)
async def receive_push(request: Request, background: BackgroundTasks) -> Response:
    if not wechat_api.configured():
        return _plain(404, "wechat channel not configured")
    params = dict(request.query_params)
    if not _signed(params) or not _fresh(params.get("timestamp", "")):
        log.info("wechat push refused: signature")
        return _plain(403, "signature missing, wrong or stale")
    body = await request.body()
    if len(body) > MAX_PUSH_BYTES:
        return _plain(413, "push too large")
    crypto = _crypto()
    try:
        if crypto is not None:
            if params.get("encrypt_type") != "aes":
                log.info("wechat push refused: plaintext in safe mode")
                return _plain(403, "safe mode: encrypted pushes only")
            xml = crypto.decrypt_message(
                body, params.get("msg_signature", ""), params["timestamp"], params["nonce"]
            )
        else:
            xml = body.decode("utf-8")
        message = parse_message(xml)
        openid = str(message.source or "")
    except (InvalidSignatureException, InvalidAppIdException):
        log.info("wechat push refused: msg_signature or appid")
        return _plain(403, "msg_signature or appid wrong")
    except Exception:  # broken XML, bad base64, bad padding ...: the same clear answer
        log.info("malformed wechat push refused")
        return _plain(400, "malformed push")
    if not openid:
        return _plain(400, "malformed push")
    replay = chats.seen_key("nonce", f"{params['timestamp']}:{params['nonce']}")
    msg_id = int(getattr(message, "id", 0) or 0)
    lock = _locks.setdefault(chats.chat_key(openid), asyncio.Lock())
    send = partial(wechat_api.send_text, openid)
    # One push at a time per follower: two quick messages must not open two cases.
    async with lock:
        if not await _allowed(openid):
            return _plain(200, "success")
        try:
            async with flow.intake_slot(), session_scope() as session:
                if await chats.seen_before(session, replay):
                    log.info("wechat push refused: replayed")
                    return _plain(403, "replayed push")
                chats.remember(session, replay)
                if msg_id:
                    key = chats.seen_key("msgid", f"{openid}:{msg_id}")
                    if await chats.seen_before(session, key):
                        log.info("wechat retry of a push already taken")
                        return _plain(200, "success")
                    chats.remember(session, key)
                outcome = await handle(session, openid, message)
        except Exception as exc:  # rolled back: nothing is stored, WeChat may send it again
            log.error("wechat push failed", extra={"error": type(exc).__name__})
            background.add_task(send_outcome, send, Outcome([texts.text("error")]))
            return _plain(503, "not stored, please retry")
    background.add_task(send_outcome, send, outcome)
    return _plain(200, "success")


async def _allowed(openid: str) -> bool:
    from bot import limits

    allowed = await limits.allow_rule("wechat_messages", "wechat", chats.chat_key(openid))
    if not allowed:
        log.info("wechat flood stopped")
        window = int(texts.limits()["wechat_messages"]["window_seconds"])
        if await limits.allow("wechat-flood-notice", chats.chat_key(openid), 1, window):
            await _send(partial(wechat_api.send_text, openid), texts.text("flood"))
    return allowed


Sender = Callable[[str], Awaitable[None]]


async def send_outcome(send: Sender, outcome: Outcome) -> None:
    """After the commit: the answers, then (for an image or voice) the download and its receipt;
    then counsellors' replies that waited for this follower's next message."""
    from bot.wechat_delivery import waker

    waker.wake()
    for text in outcome.texts:
        if not await _send(send, text):
            return
    if outcome.media is not None:
        async with session_scope() as session:
            reply = await store_media(session, outcome.media)
        await _send(send, reply)


async def _send(send: Sender, text: str) -> bool:
    """Send one answer, retried briefly when WeChat or the network fails (not when the
    follower cannot be written to)."""
    from bot.wechat_api import WeChatError

    for wait in (*SEND_RETRY_SECONDS, None):
        try:
            await send(text)
            return True
        except WeChatError as exc:
            log.warning("wechat answer not delivered", extra={"error": str(exc)})
            if exc.unreachable or wait is None:
                return False
            await asyncio.sleep(wait)
    return False

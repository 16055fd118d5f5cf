"""`/wecom`: the callback URL of a school's WeCom customer service (微信客服).

GET verifies the URL: `msg_signature` over the token, timestamp, nonce and the encrypted
`echostr`, which is decrypted (receive id = the CorpID) and echoed. POST is always encrypted:
`msg_signature`, the timestamp within 5 minutes, the CorpID inside, a (timestamp, nonce) pair
never seen before (else 403). The event only says "there are messages" (`kf_msg_or_event`,
with a token for reading them); the messages are then read with kf/sync_msg from the stored
cursor, each taken once (keyed hash of its msgid) through the same conversation as the
Official Account (bot/wechat_handlers.py), and answered with kf/send_msg after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import xmltodict
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot import flow, texts, wecom_api
from bot import wechat_chats as chats
from bot.models import WeComCursor
from bot.wechat_api import WeChatError
from bot.wechat_handlers import Follower, Outcome, handle
from bot.wechat_routes import MAX_PUSH_BYTES, _fresh, send_outcome
from helpline.db import session_scope, utcnow
from helpline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter()
PATH = "/wecom"
CHANNEL = "wecom"
CUSTOMER = 3  # msg_list[].origin: 3 = the WeChat customer (4 system event, 5 a servicer)
_read_lock = asyncio.Lock()


def _plain(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status)


def _crypto() -> WeChatCrypto:
    conf = get_settings()
    assert conf.wecom_token and conf.wecom_aes_key and conf.wecom_corp_id
    return WeChatCrypto(
        conf.wecom_token.get_secret_value(),
        conf.wecom_aes_key.get_secret_value(),
        conf.wecom_corp_id,
    )


@router.get(PATH, include_in_schema=False)
async def verify_url(request: Request) -> Response:
    if not wecom_api.configured():
        return _plain(404, "wecom channel not configured")
    q = dict(request.query_params)
    if not _fresh(q.get("timestamp", "")):
        return _plain(403, "signature missing, wrong or stale")
    try:
        echo = _crypto().check_signature(
            q.get("msg_signature", ""), q["timestamp"], q.get("nonce", ""), q.get("echostr", "")
        )
    except (InvalidSignatureException, InvalidCorpIdException):
        return _plain(403, "signature missing, wrong or stale")
    except Exception:  # bad base64 or padding in echostr
        return _plain(400, "malformed echostr")
    return _plain(200, str(echo))


@dataclass
class _Message:
    """A kf/sync_msg item in the shape the conversation expects of a wechatpy message."""

    id: str
    type: str
    content: str = ""
    recognition: str = ""
    media_id: str = ""
    event: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _message(item: dict[str, Any]) -> _Message:
    kind = str(item.get("msgtype", "unknown"))
    found = _Message(id=str(item.get("msgid", "")), type=kind)
    if kind == "text":
        found.content = str((item.get("text") or {}).get("content", ""))
    elif kind in ("image", "voice"):
        # No speech recognition in kf/sync_msg: a voice item carries only its media_id.
        found.media_id = str((item.get(kind) or {}).get("media_id", ""))
    return found


@router.post(PATH, include_in_schema=False)
async def receive_event(request: Request, background: BackgroundTasks) -> Response:
    if not wecom_api.configured():
        return _plain(404, "wecom channel not configured")
    q = dict(request.query_params)
    if not _fresh(q.get("timestamp", "")):
        return _plain(403, "signature missing, wrong or stale")
    body = await request.body()
    if len(body) > MAX_PUSH_BYTES:
        return _plain(413, "push too large")
    try:
        xml = _crypto().decrypt_message(
            body, q.get("msg_signature", ""), q["timestamp"], q.get("nonce", "")
        )
        event = xmltodict.parse(xml)["xml"]
    except (InvalidSignatureException, InvalidCorpIdException):
        log.info("wecom push refused: msg_signature or corpid")
        return _plain(403, "msg_signature or corpid wrong")
    except Exception:
        log.info("malformed wecom push refused")
        return _plain(400, "malformed push")
    replay = chats.seen_key("wecom-nonce", f"{q['timestamp']}:{q.get('nonce', '')}")
    async with session_scope() as session:
        if await chats.seen_before(session, replay):
            log.info("wecom push refused: replayed")
            return _plain(403, "replayed push")
        chats.remember(session, replay)
    if event.get("Event") != "kf_msg_or_event" or not event.get("OpenKfId"):
        return _plain(200, "success")
    background.add_task(read_messages, str(event["OpenKfId"]), str(event.get("Token", "")))
    return _plain(200, "success")


async def read_messages(open_kfid: str, token: str) -> int:
    """Read what is new for one account, take each customer message once, answer it."""
    taken = 0
    async with _read_lock:  # one reader: the cursor moves in order
        async with session_scope() as session:
            row = (
                await session.execute(select(WeComCursor).where(WeComCursor.open_kfid == open_kfid))
            ).scalar_one_or_none()
            cursor = row.cursor if row is not None else ""
        while True:
            try:
                page = await wecom_api.sync_msg(open_kfid, token, cursor)
            except WeChatError as exc:
                log.warning("wecom messages not read", extra={"error": str(exc)})
                return taken
            for item in page.get("msg_list") or []:
                if item.get("origin") == CUSTOMER and item.get("external_userid"):
                    done = await _take_one(open_kfid, item)
                    if done is None:
                        return taken  # the cursor stays: the next event reads it again
                    taken += done
            cursor = str(page.get("next_cursor") or cursor)
            await _save_cursor(open_kfid, cursor)
            if not page.get("has_more"):
                return taken


async def _take_one(open_kfid: str, item: dict[str, Any]) -> int | None:
    """1 taken, 0 taken before, None failed (rolled back)."""
    user = str(item["external_userid"])
    who = Follower(CHANNEL, user, f"{open_kfid}|{user}")
    key = chats.seen_key("wecom-msg", str(item.get("msgid", "")))
    send = partial(wecom_api.send_text, open_kfid, user)
    try:
        async with flow.intake_slot(), session_scope() as session:
            if await chats.seen_before(session, key):
                return 0
            chats.remember(session, key)
            outcome = await handle(session, who, _message(item))
    except Exception as exc:  # rolled back; the message stays unread for the next event
        log.error("wecom message failed", extra={"error": type(exc).__name__})
        await send_outcome(send, Outcome([texts.text("error")]))
        return None
    await send_outcome(send, outcome)
    return 1


async def _save_cursor(open_kfid: str, cursor: str) -> None:
    async with session_scope() as session:
        row = (
            await session.execute(select(WeComCursor).where(WeComCursor.open_kfid == open_kfid))
        ).scalar_one_or_none()
        if row is None:
            session.add(WeComCursor(open_kfid=open_kfid, cursor=cursor, updated_at=utcnow()))
        else:
            row.cursor, row.updated_at = cursor, utcnow()

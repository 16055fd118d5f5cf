"""The WeChat conversation: the same flow as Telegram (bot/flow.py), for an Official Account.

`handle` runs inside the push's transaction (the caller commits) and returns what to say;
the route sends it after the commit, so an answered message is never lost. Text, the text of
a recognised voice message, images and (once a case exists) unrecognised voice recordings
are taken; a follow event shows the privacy notice
before anything is stored. Logs carry ids and counts only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import attachments, flow, texts, wechat_api, wecom_api
from bot import wechat_chats as chats
from bot.models import WeChatChat
from triage.intake import Intake, IntakeError
from triage.models import Case
from triage.outbox import mark_reporter_unreachable

log = logging.getLogger(__name__)
CHANNEL = "wechat"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Follower:
    """Who wrote: an Official Account follower (openid), or a WeCom customer-service
    customer (external_userid, reached through the account `open_kfid`)."""

    channel: str
    ref: str  # the channel identity: its keyed hash keys the chat, its pseudonym the reporter
    chat_id: str  # what delivering a reply needs (kept encrypted with the reporter)

    @property
    def key(self) -> str:
        return self.ref if self.channel == CHANNEL else f"{self.channel}:{self.ref}"


@dataclass(frozen=True)
class Media:
    """A follower's file, fetched after the commit and kept encrypted with their case."""

    channel: str  # whose API holds it: wechat (Official Account) or wecom
    case_id: int
    kind: str  # an attachment kind (data/bot/limits.yaml): photo or voice
    media_id: str


@dataclass
class Outcome:
    """What to send to the follower once the transaction has committed."""

    texts: list[str] = field(default_factory=list)
    media: Media | None = None

    def say(self, text: str) -> None:
        self.texts.append(text)


def _word(text: str) -> str:
    return _SPACES.sub("", text or "").lower()


def _command(text: str) -> str | None:
    word = _word(text)
    for name, words in texts.section("wechat")["commands"].items():
        if word in {_word(str(w)) for w in words}:
            return str(name)
    return None


def _kind_choice(text: str) -> str | None:
    word = _word(text)
    for kind, words in texts.section("wechat")["kinds"].items():
        if word in {_word(str(w)) for w in words}:
            return str(kind)
    return None


def _welcome() -> str:
    return "\n\n".join(
        [texts.text("welcome"), texts.text("privacy"), texts.text("wechat.ask_kind")]
    )


async def handle(session: AsyncSession, who: Follower | str, message: Any) -> Outcome:
    """One push (a wechatpy message or event, or a WeCom message) from a follower."""
    if isinstance(who, str):
        who = Follower(CHANNEL, who, who)
    out = Outcome()
    chat = await chats.chat_state(session, who.key)
    kind = getattr(message, "type", "unknown")
    event = getattr(message, "event", "") if kind == "event" else ""
    if event in ("subscribe", "subscribe_scan"):
        chat.privacy_shown = True
        chats.touch(chat, inbound=True)
        out.say(_welcome())
        return out
    if event == "unsubscribe":
        chats.touch(chat)
        if chat.case_id is not None:
            await mark_reporter_unreachable(session, chat.case_id)
        return out
    if kind in ("event", "unknown"):
        return out  # menu clicks, location reports ...: nothing to store or say
    chats.touch(chat, inbound=True)
    if not chat.privacy_shown:
        # Someone who followed before this channel existed: the notice comes first.
        chat.privacy_shown = True
        out.say(texts.text("privacy"))
    if kind == "text":
        await _text(session, chat, who, message.id, message.content or "", out)
    elif kind == "voice":
        words = (getattr(message, "recognition", None) or "").strip()
        if words:
            await _text(session, chat, who, message.id, words, out)
        elif chat.case_id is not None and getattr(message, "media_id", None):
            # Unrecognised (WeCom never recognises): the recording itself is kept for the
            # counsellor to hear, rather than asking a child in distress to say it again.
            await _file(session, chat, who, message, "voice", out)
        else:
            out.say(texts.text("wechat.voice_no_text"))
    elif kind == "image":
        await _file(session, chat, who, message, "photo", out)
    else:
        out.say(texts.text("not_supported"))
    return out


async def _text(
    session: AsyncSession, chat: WeChatChat, who: Follower, msg_id: Any, words: str, out: Outcome
) -> None:
    if not chat.new_case_pending:
        turn = await flow.screening_answer(session, chat.case_id, words)
        if turn is not None:
            out.say(turn.reply)
            return
    if chat.reporter_kind == "unknown" and chat.case_id is None:
        chosen = _kind_choice(words)
        if chosen is not None:
            chat.reporter_kind = chosen
            out.say(texts.text(f"kind_thanks.{chosen}"))
            return
    command = _command(words)
    if command is not None:
        out.say(await _run_command(session, chat, command))
        return
    intake = Intake(
        channel=who.channel,
        reporter_ref=who.ref,
        chat_id=who.chat_id,
        text=words,
        kind="text",
        reporter_kind=chat.reporter_kind,
        external_id=chats.message_key(who.key, msg_id),
        new_case=chat.new_case_pending,
    )
    try:
        # Too long or empty is refused before anything is written (triage.intake.clean_text).
        answer = await flow.take(session, intake, screen=True)
    except IntakeError as exc:
        out.say(flow.refusal(exc))
        return
    chat.case_id = answer.case.id
    chat.new_case_pending = False
    out.say(answer.chat_text())
    log.info(
        "wechat message stored",
        extra={"case_id": answer.case.id, "urgency": answer.received.analysis.urgency},
    )


async def _run_command(session: AsyncSession, chat: WeChatChat, command: str) -> str:
    if command == "help":
        return texts.text("wechat.help")
    if command == "start":
        return _welcome()
    if command == "new":
        chat.new_case_pending = True
        return texts.text("new_case")
    case = await session.get(Case, chat.case_id) if chat.case_id else None
    if case is None:
        return texts.text("status_none")
    return await flow.status_text(session, case)


async def _file(
    session: AsyncSession, chat: WeChatChat, who: Follower, message: Any, kind: str, out: Outcome
) -> None:
    case = await session.get(Case, chat.case_id) if chat.case_id else None
    verdict = attachments.check(case, kind, None)
    if verdict != attachments.Verdict.ok or case is None:
        out.say(attachments.refusal(verdict))
        return
    out.media = Media(who.channel, case.id, kind, str(message.media_id))


_DOWNLOADS = {CHANNEL: wechat_api.download, "wecom": wecom_api.download}
_DEFAULT_MIME = {"photo": "image/jpeg", "voice": "audio/amr"}  # WeChat records voice as AMR


async def store_media(session: AsyncSession, media: Media) -> str:
    """Fetch a follower's file from WeChat or WeCom and keep it encrypted with their case;
    returns what to tell them."""
    try:
        content, mime = await _DOWNLOADS[media.channel](media.media_id)
    except wechat_api.WeChatError as exc:
        log.warning(
            "wechat file not fetched",
            extra={"case_id": media.case_id, "kind": media.kind, "error": str(exc)},
        )
        return texts.text("attachment_failed")
    case = await session.get(Case, media.case_id)
    assert case is not None
    verdict = attachments.check(case, media.kind, len(content))
    if verdict != attachments.Verdict.ok:
        return attachments.refusal(verdict)
    await attachments.store(session, case, media.kind, mime or _DEFAULT_MIME[media.kind], content)
    return texts.text("voice_stored" if media.kind == "voice" else "attachment_stored")

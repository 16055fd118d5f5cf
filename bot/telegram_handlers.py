"""The Telegram conversation: python-telegram-bot handlers, private chats only.

Each message is stored (one transaction: intake, case, escalation hooks, chat state) BEFORE the
answer is sent, so an answered message is never lost. Logs carry ids and counts only.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import attachments, chats, flow, limits, screening, texts
from bot.edits import apply_edit
from helpline.db import session_scope
from triage.intake import Intake, IntakeError
from triage.models import Case
from triage.outbox import mark_reporter_unreachable

log = logging.getLogger(__name__)
KINDS = ("student", "parent", "other")
NEW_MESSAGE = filters.UpdateType.MESSAGE
NEW_OR_EDITED = filters.UpdateType.MESSAGES
PRIVATE = filters.ChatType.PRIVATE
FILES = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL | filters.VIDEO
FILES = FILES | filters.VIDEO_NOTE


def add_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Group -2/-1 run first: groups are refused, floods are stopped, before any work is done.
    # Edits count too: each one is analysed again, so a stream of edits is a flood as well.
    app.add_handler(MessageHandler(~PRIVATE, refuse_group), group=-2)
    app.add_handler(MessageHandler(NEW_OR_EDITED & PRIVATE, flood_gate), group=-1)
    app.add_handler(CommandHandler("start", start, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("help", help_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("status", status, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("new", new_concern, filters=NEW_MESSAGE))
    app.add_handler(CallbackQueryHandler(kind_chosen, pattern=r"^kind:(student|parent|other)$"))
    app.add_handler(CallbackQueryHandler(screening_button, pattern=r"^scr:(yes|no|skipped)$"))
    app.add_handler(CallbackQueryHandler(acknowledge, pattern=r"^ack:[0-9A-Za-z:]{1,60}$"))
    app.add_handler(CallbackQueryHandler(stale_button))
    # A photo's or file's caption is stored as a message too, so its edits count as well.
    edited_words = filters.TEXT | filters.CAPTION
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & edited_words, edited))
    app.add_handler(MessageHandler(NEW_MESSAGE & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(NEW_MESSAGE & filters.Sticker.ALL, sticker))
    app.add_handler(MessageHandler(NEW_MESSAGE & FILES, on_file))
    app.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND, help_command))
    app.add_handler(MessageHandler(NEW_MESSAGE, not_supported))
    app.add_error_handler(on_error)


# -- sending -----------------------------------------------------------------------------------
async def say(message: Message, text: str, case_id: int | None = None, markup: Any = None) -> bool:
    """Reply in the chat; a blocked or deleted chat marks the reporter unreachable, no more."""
    try:
        await message.reply_text(text, reply_markup=markup, do_quote=False)
        return True
    except Forbidden:
        log.info("telegram chat unreachable", extra={"case_id": case_id})
        if case_id is not None:
            async with session_scope() as session:
                await mark_reporter_unreachable(session, case_id)
        return False


# -- gates ------------------------------------------------------------------------------------
async def refuse_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if message is not None and message.chat.type in ("group", "supergroup"):
        try:
            await message.reply_text(texts.text("group_refusal"), do_quote=False)
        except TelegramError:
            log.info("group refusal not delivered")
    raise ApplicationHandlerStop


async def flood_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    chat = str(message.chat_id)
    allowed = await limits.allow_rule("telegram_messages", "telegram", chat)
    # Say "slow down" once per window, not once per dropped message.
    window = int(texts.limits()["telegram_messages"]["window_seconds"])
    tell = not allowed and await limits.allow("telegram-flood-notice", chat, 1, window)
    if not allowed:
        log.info("telegram flood stopped")
        if tell:
            await say(message, texts.text("flood"))
        raise ApplicationHandlerStop


# -- commands ---------------------------------------------------------------------------------
def kind_keyboard() -> InlineKeyboardMarkup:
    labels = texts.mapping("kind_buttons")
    buttons = [InlineKeyboardButton(labels[k], callback_data=f"kind:{k}") for k in KINDS]
    return InlineKeyboardMarkup([buttons])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    await say(message, f"{texts.text('welcome')}\n\n{texts.text('privacy')}")
    await say(message, texts.text("ask_kind"), markup=kind_keyboard())


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await say(update.message, texts.text("help"))


async def new_concern(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    async with session_scope() as session:
        chat = await chats.chat_state(session, message.chat_id)
        chat.new_case_pending = True
        chats.touch(chat)
    await say(message, texts.text("new_case"))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    async with session_scope() as session:
        chat = await chats.chat_state(session, message.chat_id)
        case = await session.get(Case, chat.case_id) if chat.case_id else None
        if case is None:
            reply = texts.text("status_none")
        else:
            reply = await flow.status_text(session, case)
    await say(message, reply, chat.case_id)


async def kind_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    kind = query.data.split(":", 1)[1]
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    async with session_scope() as session:
        chat = await chats.chat_state(session, chat_id)
        chat.reporter_kind = kind
        chats.touch(chat)
    await query.answer()
    try:
        await context.bot.send_message(chat_id, texts.text(f"kind_thanks.{kind}"))
    except Forbidden:
        log.info("telegram chat unreachable")


async def acknowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A duty officer pressed "acknowledge" under an escalation alert."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        from escalation.ack import acknowledge_token  # the escalation layer, wired at run time
    except ImportError:
        await query.answer(texts.text("ack_unavailable"), show_alert=True)
        return
    async with session_scope() as session:
        # The whole callback data ("ack:<alert id>:<mac>") is the token escalation checks.
        result = await acknowledge_token(session, query.data, via="telegram")
    words = {"acknowledged": "ack_done", "already": "ack_already"}.get(result, "ack_failed")
    await query.answer(texts.text(words), show_alert=True)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()


def screening_keyboard() -> InlineKeyboardMarkup:
    labels = texts.mapping("screening.buttons")
    buttons = [
        InlineKeyboardButton(word, callback_data=f"scr:{kind}") for kind, word in labels.items()
    ]
    return InlineKeyboardMarkup([buttons])


async def _screening_turn(chat_id: int, words: str) -> tuple[Any, int | None]:
    """Record `words` as the answer to the open screening question, if they are one."""
    if screening.parse(words) is None:
        return None, None  # not an answer at all: no extra transaction for ordinary messages
    async with flow.intake_slot(), session_scope() as session:
        chat = await chats.chat_state(session, chat_id)
        if chat.new_case_pending:
            return None, chat.case_id
        return await flow.screening_answer(session, chat.case_id, words), chat.case_id


async def screening_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    kind = query.data.split(":", 1)[1]
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    await query.answer()
    turn, _ = await _screening_turn(chat_id, texts.mapping("screening.buttons")[kind])
    if turn is not None:
        markup = screening_keyboard() if turn.open else None
        try:
            await context.bot.send_message(chat_id, turn.reply, reply_markup=markup)
        except Forbidden:
            log.info("telegram chat unreachable")


# -- messages ---------------------------------------------------------------------------------
async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None and message.text is not None
    turn, case_id = await _screening_turn(message.chat_id, message.text)
    if turn is not None:
        markup = screening_keyboard() if turn.open else None
        await say(message, turn.reply, case_id, markup=markup)
        return
    answer = await _take(message, message.text, "text")
    if answer is not None:
        markup = screening_keyboard() if answer.screening else None
        await say(message, answer.chat_text(), answer.case.id, markup=markup)


async def _take(message: Message, text: str, kind: str) -> flow.Answer | None:
    """Store one message into its case; tells the reporter and returns None when refused."""
    chat_id = message.chat_id
    try:
        async with flow.intake_slot(), session_scope() as session:
            chat = await chats.chat_state(session, chat_id)
            intake = Intake(
                channel="telegram",
                reporter_ref=str(chat_id),
                chat_id=str(chat_id),
                text=text,
                kind=kind,
                reporter_kind=chat.reporter_kind,
                external_id=chats.message_key(chat_id, message.message_id),
                new_case=chat.new_case_pending,
            )
            answer = await flow.take(session, intake, screen=True)
            chat.case_id = answer.case.id
            chat.new_case_pending = False
            chats.touch(chat)
    except IntakeError as exc:
        await say(message, flow.refusal(exc))
        return None
    log.info(
        "telegram message stored",
        extra={"case_id": answer.case.id, "urgency": answer.received.analysis.urgency},
    )
    return answer


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.edited_message
    assert message is not None
    words = message.text or message.caption or ""
    try:
        async with flow.intake_slot(), session_scope() as session:
            result = await apply_edit(
                session, chats.message_key(message.chat_id, message.message_id), words
            )
            if result is not None:
                region = await flow.region_of(session, result.case)
    except IntakeError as exc:
        await say(message, flow.refusal(exc))
        return
    if result is None:
        await say(message, texts.text("edited_unknown"))
        return
    reply = texts.text("edited")
    if result.worse:
        a = result.analysis
        blocks = texts.safety_blocks(a.labels, a.urgency, a.mandatory_report, region)
        reply = "\n\n".join([b.render() for b in blocks] + [reply])
    await say(message, reply, result.case.id)


async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await say(update.message, texts.text("sticker"))


async def not_supported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await say(update.message, texts.text("not_supported"))


def _file_of(message: Message) -> tuple[str, str, str, int | None]:
    """(kind, file_id, mime type, size) of the file in a message."""
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        return "photo", photo.file_id, "image/jpeg", photo.file_size
    for kind in ("voice", "audio", "video", "video_note", "document"):
        item = getattr(message, kind)
        if item is not None:
            mime = getattr(item, "mime_type", None) or "application/octet-stream"
            return kind, item.file_id, mime, item.file_size
    raise ValueError("message has no file")


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    kind, file_id, mime, size = _file_of(message)
    case_id: int | None = None
    if message.caption:
        answer = await _take(message, message.caption, "text")
        if answer is None:
            return
        case_id = answer.case.id
        await say(message, answer.chat_text(), case_id)
    async with session_scope() as session:
        chat = await chats.chat_state(session, message.chat_id)
        case_id = case_id or chat.case_id
        case = await session.get(Case, case_id) if case_id else None
        verdict = attachments.check(case, kind, size)
    if verdict != attachments.Verdict.ok or case is None:
        await say(message, attachments.refusal(verdict), case_id)
        return
    try:
        content = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        async with session_scope() as session:
            case = await session.get(Case, case.id)
            assert case is not None
            if attachments.check(case, kind, len(content)) != attachments.Verdict.ok:
                raise ValueError("attachment refused after download")
            await attachments.store(session, case, kind, mime, content)
    except (TelegramError, ValueError) as exc:
        log.warning(
            "attachment not stored", extra={"case_id": case.id, "error": type(exc).__name__}
        )
        await say(message, texts.text("attachment_failed"), case.id)
        return
    await say(message, texts.text("attachment_stored"), case.id)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any failure: the transaction was rolled back; ask the reporter to send again."""
    log.error("telegram update failed", extra={"error": type(context.error).__name__})
    if isinstance(update, Update) and update.effective_chat is not None:
        if update.effective_chat.type != "private":
            return
        try:
            await context.bot.send_message(update.effective_chat.id, texts.text("error"))
        except TelegramError:
            log.info("error notice not delivered")

"""POST /telegram/webhook: Telegram delivers updates here in webhook mode.

The secret token header is checked first; a body that is not a JSON update gets a clear 400
and touches nothing. A valid update is processed before the answer, so a 200 means stored.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Update

from bot.telegram_service import WEBHOOK_PATH, current_application
from helpline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter()
MAX_UPDATE_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def _answer(status: int, error: str | None = None) -> JSONResponse:
    body: dict[str, object] = {"ok": error is None}
    if error:
        body["error"] = error
    return JSONResponse(body, status_code=status)


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook(request: Request) -> JSONResponse:
    secret = get_settings().telegram_webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if secret is None or not hmac.compare_digest(
        given.encode(), secret.get_secret_value().encode()
    ):
        return _answer(403, "secret token missing or wrong")
    app = current_application()
    if app is None:
        return _answer(503, "bot not running")
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        return _answer(413, "update too large")
    try:
        data = json.loads(body)
        update = Update.de_json(data, app.bot) if isinstance(data, dict) else None
    except Exception:  # any shape that is not an update is refused the same way
        update = None
    if update is None:
        log.info("malformed telegram update refused")
        return _answer(400, "malformed update")
    await app.update_processor.process_update(update, app.process_update(update))
    return _answer(200)

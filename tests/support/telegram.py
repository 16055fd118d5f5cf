"""A local stand-in of the Telegram Bot API over real HTTP, for tests of the real library.

python-telegram-bot is pointed at it with `base_url=standin.base_url` (and
`base_file_url=standin.base_file_url`). It answers the methods the library calls, feeds queued
updates to `getUpdates` (long polling), records every call with its time, and can pretend that a
chat blocked the bot (403 Forbidden) so tests see what a deleted chat does.

    with TelegramStandin() as api:
        api.push_update(api.text_update(chat_id=1001, text="你好"))
        call = api.wait_for("sendMessage", chat_id=1001)

It runs a Starlette app under uvicorn in a background thread on 127.0.0.1 (a free port); any
test thread may push updates and read calls.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port
from tests.support.standin import ThreadedServer

BOT_USER = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "校园守护热线",
    "username": "helpline_standin_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Parameters the library sends JSON-encoded inside the form body.
JSON_PARAMS = {"reply_markup", "entities", "allowed_updates", "commands", "link_preview_options"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the stand-in received it

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    forbidden_chats: set[str] = field(default_factory=set)
    webhook_url: str = ""
    next_update_id: int = 1
    next_message_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


class TelegramStandin:
    """The Bot API on 127.0.0.1:<free port>; use as a context manager or start()/stop()."""

    def __init__(self, token: str = "123456:standin-token") -> None:
        self.token = token
        self.port = free_port()
        self.state = _State()
        self._server: ThreadedServer | None = None
        self._clock = 0

    # -- addresses -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> TelegramStandin:
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        self._server = ThreadedServer(app, "telegram stand-in", self.port)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.request_exit()
        with self.state.changed:
            self.state.changed.notify_all()
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> TelegramStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests do ---------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self.state.changed:
            update = {**update, "update_id": self.state.next_update_id}
            self.state.next_update_id += 1
            self.state.updates.append(update)
            self.state.changed.notify_all()
        return int(update["update_id"])

    def new_update_id(self) -> int:
        """An update id for an update the test posts itself (webhook mode)."""
        with self.state.lock:
            self.state.next_update_id += 1
            return self.state.next_update_id - 1

    def block_chat(self, chat_id: int | str) -> None:
        """From now on, sending to this chat answers 403 Forbidden (bot blocked)."""
        with self.state.lock:
            self.state.forbidden_chats.add(str(chat_id))

    def add_file(self, file_id: str, content: bytes) -> None:
        with self.state.lock:
            self.state.files[file_id] = content

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        with self.state.lock:
            found = list(self.state.calls)
        return [
            c
            for c in found
            if (method is None or c.method == method)
            and (chat_id is None or c.chat_id == str(chat_id))
        ]

    def wait_for(
        self,
        method: str,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        contains: str | None = None,
    ) -> list[Call]:
        """Block until `count` matching calls were made; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self.state.changed:
            while True:
                found = [
                    c
                    for c in self.state.calls
                    if c.method == method
                    and (chat_id is None or c.chat_id == str(chat_id))
                    and (contains is None or contains in c.text)
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"stand-in: {len(found)}/{count} {method} calls to {chat_id} in {timeout}s"
                    )
                self.state.changed.wait(min(left, 0.2))

    def pending_updates(self) -> int:
        with self.state.lock:
            return len(self.state.updates)

    # -- update builders (the shapes Telegram sends) ---------------------------------------
    def _date(self) -> int:
        self._clock += 1
        return int(time.time())

    @staticmethod
    def user(user_id: int, first_name: str = "同学") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh"}

    @staticmethod
    def chat(chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "同学"}
        return {"id": chat_id, "type": chat_type, "title": "某班级群"}

    def message(
        self,
        chat_id: int,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        message_id: int | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        with self.state.lock:
            if message_id is None:
                message_id = self.state.next_message_id
                self.state.next_message_id += 1
        return {
            "message_id": message_id,
            "from": self.user(user_id or chat_id),
            "chat": self.chat(chat_id, chat_type),
            "date": self._date(),
            **content,
        }

    def text_update(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": self.message(chat_id, **kw, **content)}

    def edited_update(
        self, chat_id: int, message_id: int, text: str, field: str = "text"
    ) -> dict[str, Any]:
        """An edit of a message's text (or, with field="caption", of a file's caption)."""
        msg = self.message(chat_id, message_id=message_id, **{field: text})
        msg["edit_date"] = self._date()
        return {"edited_message": msg}

    def photo_update(self, chat_id: int, file_id: str, size: int) -> dict[str, Any]:
        photo = [
            {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 640, "height": 480}
            | {"file_size": size}
        ]
        return {"message": self.message(chat_id, photo=photo)}

    def voice_update(self, chat_id: int, file_id: str, size: int) -> dict[str, Any]:
        voice = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": 3}
        voice["file_size"] = size
        return {"message": self.message(chat_id, voice=voice)}

    def sticker_update(self, chat_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "usticker-1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return {"message": self.message(chat_id, sticker=sticker)}

    def callback_update(
        self, chat_id: int, data: str, message_id: int = 1, query_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "callback_query": {
                "id": query_id or f"cq{self.new_update_id()}",
                "from": self.user(chat_id),
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "from": BOT_USER,
                    "chat": self.chat(chat_id),
                    "date": self._date(),
                    "text": "…",
                },
            }
        }

    # -- the HTTP side ---------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            kind = request.headers.get("content-type", "")
            if kind.startswith("application/json"):
                body = await request.body()
                params.update(json.loads(body) if body else {})
            else:
                form = await request.form()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else "<file>"
        for key in JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        with self.state.changed:
            self.state.calls.append(Call(method, params, time.monotonic()))
            self.state.changed.notify_all()
            blocked = str(params.get("chat_id")) in self.state.forbidden_chats
        if blocked and method.startswith(("send", "edit")):
            return _error(403, "Forbidden: bot was blocked by the user")
        handler = _HANDLERS.get(method)
        if handler is None:
            return _error(404, "Not Found: method not found")
        return _ok(handler(self, params))

    async def _get_updates(self, params: dict[str, Any]) -> Response:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 5.0)
        while True:
            with self.state.lock:
                # Confirmed updates (below the offset) are forgotten, as Telegram does.
                self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
                ready = list(self.state.updates[: int(params.get("limit") or 100)])
            if ready or time.monotonic() >= deadline or self._server_exiting():
                return _ok(ready)
            await asyncio.sleep(0.01)

    def _server_exiting(self) -> bool:
        return bool(self._server and self._server.exiting)

    async def _file(self, request: Request) -> Response:
        path = request.path_params["path"]
        with self.state.lock:
            content = self.state.files.get(path.rsplit("/", 1)[-1])
        if content is None:
            return Response(status_code=404)
        return Response(content, media_type="application/octet-stream")

    # -- method results --------------------------------------------------------------------
    def _sent(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            message_id = self.state.next_message_id
            self.state.next_message_id += 1
        chat_id = int(params["chat_id"])
        out = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            out["reply_markup"] = params["reply_markup"]
        return out

    def _edited(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "chat_id" not in params:
            return True
        out = self._sent(params)
        out["message_id"] = int(params.get("message_id") or out["message_id"])
        out["edit_date"] = int(time.time())
        return out

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        with self.state.lock:
            size = len(self.state.files.get(file_id, b""))
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": size,
            "file_path": f"documents/{file_id}",
        }

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        with self.state.lock:
            self.state.webhook_url = str(params.get("url", ""))
        return True

    def _webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            return {"url": self.state.webhook_url, "has_custom_certificate": False} | {
                "pending_update_count": len(self.state.updates)
            }


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str) -> JSONResponse:
    # Telegram answers errors with HTTP status = error_code and this body.
    return JSONResponse(
        {"ok": False, "error_code": code, "description": description}, status_code=code
    )


_HANDLERS: dict[str, Any] = {
    "getMe": lambda api, p: BOT_USER,
    "sendMessage": TelegramStandin._sent,
    "editMessageText": TelegramStandin._edited,
    "editMessageReplyMarkup": TelegramStandin._edited,
    "answerCallbackQuery": lambda api, p: True,
    "sendChatAction": lambda api, p: True,
    "setWebhook": TelegramStandin._set_webhook,
    "deleteWebhook": lambda api, p: api._set_webhook({}),
    "getWebhookInfo": TelegramStandin._webhook_info,
    "getFile": TelegramStandin._get_file,
    "setMyCommands": lambda api, p: True,
    "deleteMyCommands": lambda api, p: True,
    "getMyCommands": lambda api, p: [],
    "close": lambda api, p: True,
    "logOut": lambda api, p: True,
}

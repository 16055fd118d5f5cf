"""The request boundary: size limits counted on the stream, and text normalised on the way in.

An ASGI middleware (outermost) that
- counts the body's bytes as they arrive, whatever the framing (Content-Length or chunked), and
  refuses with 413 as soon as the limit is passed: nothing larger is ever held in memory;
- holds form posts to a number of fields and a size per field, and takes no file uploads;
- normalises every text that comes in (query string, path, form fields; see
  `helpline.textclean`): a form body is decoded once here, cleaned, and handed on re-encoded as
  `application/x-www-form-urlencoded` (a multipart post becomes one too), so no route ever sees a
  NUL byte or a control character, whichever parser it uses.
The refusals are raised inside the application's receive call, so they reach the app's own
HTTPException handler and get its page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.datafiles import data_yaml
from helpline.textclean import clean

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class BodyTooLarge(HTTPException):
    """413: the body, a field, or the number of fields is over the limit."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def _loaded() -> dict[str, Any]:
    return dict(data_yaml("web", "limits.yaml"))


def limits() -> dict[str, int]:
    return {key: int(value) for key, value in _loaded().items() if not isinstance(value, dict)}


def body_limit(path: str) -> int:
    """The body limit of the route at `path`: its own, or the form limit."""
    for prefix, size in _loaded().get("route_body_bytes", {}).items():
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return int(size)
    return limits()["max_body_bytes"]


def form_limits() -> dict[str, int]:
    """The limits in the form FastAPI and Starlette's parsers take them."""
    conf = limits()
    return {
        "max_fields": conf["max_fields"],
        "max_files": conf["max_files"],
        "max_part_size": conf["max_field_bytes"],
    }


def clean_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    conf = limits()
    if len(pairs) > conf["max_fields"]:
        raise BodyTooLarge()
    out = [(clean(key), clean(value)) for key, value in pairs]
    if any(len(value.encode()) > conf["max_field_bytes"] for _, value in out):
        raise BodyTooLarge()
    return out


def _clean_query(raw: bytes) -> bytes:
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
    return urlencode([(clean(k), clean(v)) for k, v in pairs]).encode("ascii")


async def _multipart_pairs(headers: Headers, body: bytes) -> list[tuple[str, str]]:
    async def stream() -> AsyncIterator[bytes]:
        yield body

    conf = limits()
    parser = MultiPartParser(
        headers,
        stream(),
        max_files=conf["max_files"],
        max_fields=conf["max_fields"],
        max_part_size=conf["max_field_bytes"],
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(status_code=400) from exc
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):  # max_files=0 refuses these; never pass one on
            raise HTTPException(status_code=400)
        pairs.append((key, value))
    return pairs


class Boundary:
    """`too_large` renders the 413 page for a body declared too large up front (answered here,
    whether or not the route would read the body)."""

    def __init__(self, app: ASGIApp, too_large: Callable[[Request], Response]) -> None:
        self.app, self.too_large = app, too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = body_limit(scope.get("path", ""))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self.too_large(Request(scope))(scope, receive, send)
            return
        # Changed in place: the access log reads the matched route from this same scope.
        scope["path"] = clean(scope.get("path", ""))
        if scope.get("query_string"):
            scope["query_string"] = _clean_query(scope["query_string"])
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media in (FORM, MULTIPART):
            # Handed on re-encoded: its length changes, and it is a plain form from here on.
            kept = [
                (k, v)
                for k, v in scope["headers"]
                if k not in (b"content-length", b"content-type", b"transfer-encoding")
            ]
            scope["headers"] = [*kept, (b"content-type", FORM.encode())]
            receive = _FormReceive(_CountingReceive(receive, limit), headers, media)
        else:
            receive = _CountingReceive(receive, limit)
        await self.app(scope, receive, send)


class _CountingReceive:
    """Passes the body through as it comes, refusing it once it is over the limit."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive, self.limit, self.seen = receive, limit, 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise BodyTooLarge()
        return message


class _FormReceive:
    """Reads the whole (limited) form body, cleans it, and gives it on as one message."""

    def __init__(self, counting: _CountingReceive, headers: Headers, media: str) -> None:
        self.counting, self.headers, self.media = counting, headers, media
        self.done = False

    async def __call__(self) -> Message:
        if self.done:
            return await self.counting.receive()  # http.disconnect, as the server tells it
        chunks: list[bytes] = []
        while True:
            message = await self.counting()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.done = True
        body = b"".join(chunks)
        if self.media == MULTIPART:
            pairs = await _multipart_pairs(self.headers, body)
        else:
            text = body.decode("utf-8", errors="replace")
            pairs = parse_qsl(text, keep_blank_values=True, errors="replace")
        cleaned = clean_pairs(pairs)
        encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in cleaned)
        return {"type": "http.request", "body": encoded.encode("ascii"), "more_body": False}

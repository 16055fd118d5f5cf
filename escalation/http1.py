"""A lean HTTP/1.1 client for alert webhooks and group robots: POST, kept-alive connections.

Why not httpx or httpcore: an alert is a small POST and the worker is CPU-bound on a loaded
host. Profiled with py-spy in benchmarks/escalation.py (docs/escalation.md), httpcore's
request path (anyio cancel scopes, h11 events, the pool's checks of every connection) was
over half of a worker's CPU per alert; this client writes one buffer per request on an
asyncio stream and reads the answer by Content-Length, chunks or until the server closes.

What it does not do: redirects, proxies, cookies, compression, HTTP/2 (a webhook answers a
POST directly). Errors carry httpcore's names (`ConnectError`, `ReadTimeout`, ...) so that
delivery labels (`http_ReadTimeout`) read as they did; `sent` says whether the request may
have reached the server (then a retry is marked as a possible duplicate).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

MAX_BODY = 1 << 20  # an alert's answer is a few bytes; more than this is a broken server
MAX_HEAD = 64 << 10
# A kept connection idle longer than this is closed, not reused: a server may drop an idle
# keep-alive connection at any time, and a request written as it does so fails ambiguously
# (a possible duplicate). Within a drain, batches follow each other within milliseconds.
KEEP_IDLE_SECONDS = 2.0


class HttpError(Exception):
    """A request that got no usable answer; `sent`: it may have reached the server."""

    def __init__(self, name: str, *, sent: bool) -> None:
        super().__init__(name)
        self.name, self.sent = name, sent


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes


@dataclass(frozen=True)
class Origin:
    tls: bool
    host: str
    port: int
    target: bytes  # path and query
    host_header: bytes


@lru_cache(maxsize=256)
def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError("UnsupportedProtocol", sent=False)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    header = shown if port == (443 if tls else 80) else f"{shown}:{port}"
    return Origin(tls, host, port, target.encode("ascii"), header.encode("idna"))


class Connection:
    """One kept-alive connection to one origin; one request at a time."""

    def __init__(self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.origin, self.reader, self.writer = origin, reader, writer
        self.reusable = True
        self.used_at = time.monotonic()

    @classmethod
    async def open(cls, origin: Origin, tls: ssl.SSLContext | None, limit_s: float) -> Connection:
        try:
            async with asyncio.timeout(limit_s):
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=tls if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                    limit=MAX_HEAD,
                )
        except TimeoutError as exc:
            raise HttpError("ConnectTimeout", sent=False) from exc
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise HttpError("ConnectError", sent=False) from exc
        return cls(origin, reader, writer)

    def usable(self) -> bool:
        return self.reusable and not self.reader.at_eof() and not self.writer.is_closing()

    def fresh(self) -> bool:
        """Usable, and not idle so long that the server may be closing it."""
        return self.usable() and time.monotonic() - self.used_at < KEEP_IDLE_SECONDS

    async def post(self, body: bytes, headers: list[tuple[bytes, bytes]], limit_s: float) -> Answer:
        head = [
            b"POST ",
            self.origin.target,
            b" HTTP/1.1\r\nHost: ",
            self.origin.host_header,
            b"\r\nContent-Length: ",
            str(len(body)).encode(),
            b"\r\n",
        ]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head += (b"\r\n", body)
        try:
            async with asyncio.timeout(limit_s):
                self.writer.write(b"".join(head))
                await self.writer.drain()
                return await self._answer()
        except TimeoutError as exc:
            self.close()
            raise HttpError("ReadTimeout", sent=True) from exc
        except HttpError:
            self.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise HttpError("RemoteProtocolError", sent=True) from exc

    async def _answer(self) -> Answer:
        while True:
            status, fields = await self._head()
            if status >= 200 or status == 101:
                break  # 1xx (100 Continue): an interim answer, the real one follows
        if status == 101:
            raise HttpError("ProtocolError", sent=True)
        length = fields.get(b"content-length")
        chunked = b"chunked" in fields.get(b"transfer-encoding", b"").lower()
        if fields.get(b"connection", b"").lower() == b"close":
            self.reusable = False
        if status in (204, 304):
            content = b""
        elif chunked:
            content = await self._chunks()
        elif length is not None:
            try:
                size = int(length)
            except ValueError as exc:
                raise HttpError("ProtocolError", sent=True) from exc
            if size < 0 or size > MAX_BODY:
                raise HttpError("ProtocolError", sent=True)
            content = await self.reader.readexactly(size)
        else:  # delimited by the server closing the connection
            self.reusable = False
            content = await self.reader.read(MAX_BODY)
        return Answer(status, content)

    async def _head(self) -> tuple[int, dict[bytes, bytes]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise HttpError("ProtocolError", sent=True)
        if parts[0] == b"HTTP/1.0":
            self.reusable = False
        fields: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise HttpError("ProtocolError", sent=True)
            fields[name.strip().lower()] = value.strip()
        return int(parts[1]), fields

    async def _chunks(self) -> bytes:
        content = bytearray()
        while True:
            line = await self.reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise HttpError("ProtocolError", sent=True) from exc
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return bytes(content)
            if len(content) + size > MAX_BODY:
                raise HttpError("ProtocolError", sent=True)
            content += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.reusable = False
        if not self.writer.is_closing():
            self.writer.close()


class Lane:
    """One request at a time, keeping a connection per origin for the next one."""

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        self.kept: dict[Origin, Connection] = {}

    async def post(
        self, url: str, body: bytes, headers: list[tuple[bytes, bytes]], limit_s: float
    ) -> Answer:
        origin = origin_of(url)
        conn = self.kept.pop(origin, None)
        if conn is None or not conn.fresh():
            if conn is not None:
                conn.close()
            conn = await Connection.open(origin, self.tls, limit_s)
        try:
            answer = await conn.post(body, headers, limit_s)
        except BaseException:  # cancelled mid-request too: the connection's state is unknown
            conn.close()
            raise
        if conn.usable():
            conn.used_at = time.monotonic()
            self.kept[origin] = conn
        else:
            conn.close()
        return answer

    def close(self) -> None:
        for conn in self.kept.values():
            conn.close()
        self.kept.clear()

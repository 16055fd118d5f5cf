"""escalation.http1, the lean HTTP/1.1 client of webhooks and robots, against a raw local
server answering in each form a server may use: Content-Length, chunks, until close, an
interim 100, keep-alive; and the failures (refused, hanging, not HTTP) with whether the request
may have reached the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from escalation import http1
from tests.support.processes import free_port

pytestmark = pytest.mark.asyncio

Answer = Callable[[bytes], bytes | None]  # request head+body -> raw answer (None: hang)


class RawServer:
    def __init__(self, answer: Answer) -> None:
        self.answer, self.connections, self.requests = answer, 0, []
        self.port = free_port()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":", 1)[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                raw = self.answer(request)
                if raw is None:
                    await asyncio.sleep(30)
                    return
                writer.write(raw)
                await writer.drain()
                if b"connection: close" in raw.lower() or b"content-length" not in raw.lower():
                    if b"chunked" not in raw.lower():
                        writer.close()
                        return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?x=1"


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[[Answer], RawServer]]:
    servers: list[asyncio.AbstractServer] = []

    async def start(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        servers.append(await asyncio.start_server(raw._serve, "127.0.0.1", raw.port))
        return raw

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def _post(lane: http1.Lane, url: str, limit_s: float = 5.0) -> http1.Answer:
    return await lane.post(url, b'{"a":1}', [(b"Content-Type", b"application/json")], limit_s)


async def test_content_length_and_keep_alive(serve) -> None:  # noqa: ANN001
    server = await serve(lambda _: b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"errcode":0}')
    lane = http1.Lane(None)
    first = await _post(lane, server.url)
    second = await _post(lane, server.url)
    lane.close()
    assert (first.status, first.content) == (200, b'{"errcode":0}')
    assert second.content == first.content
    assert server.connections == 1  # kept alive
    request = server.requests[0]
    assert request.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in request
    assert request.endswith(b'\r\n\r\n{"a":1}')


async def test_chunked_interim_and_close_delimited(serve) -> None:  # noqa: ANN001
    chunked = await serve(
        lambda _: (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nTrailer: 1\r\n\r\n"
        )
    )
    lane = http1.Lane(None)
    got = await _post(lane, chunked.url)
    again = await _post(lane, chunked.url)
    assert (got.status, got.content) == (201, b"abcdefg") and again.content == b"abcdefg"
    assert chunked.connections == 1
    closing = await serve(lambda _: b"HTTP/1.1 500 Oops\r\n\r\nbroken")
    got = await _post(lane, closing.url)
    got_again = await _post(lane, closing.url)
    lane.close()
    assert (got.status, got.content) == (500, b"broken") and got_again.status == 500
    assert closing.connections == 2  # the answer ended with the connection: not reused


async def test_failures_say_whether_the_request_may_have_arrived(serve) -> None:  # noqa: ANN001
    lane = http1.Lane(None)
    with pytest.raises(http1.HttpError) as refused:
        await _post(lane, f"http://127.0.0.1:{free_port()}/hook")
    assert (refused.value.name, refused.value.sent) == ("ConnectError", False)
    hanging = await serve(lambda _: None)
    with pytest.raises(http1.HttpError) as timeout:
        await _post(lane, hanging.url, limit_s=0.3)
    assert (timeout.value.name, timeout.value.sent) == ("ReadTimeout", True)
    garbage = await serve(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(http1.HttpError) as bad:
        await _post(lane, garbage.url)
    assert (bad.value.name, bad.value.sent) == ("ProtocolError", True)
    with pytest.raises(http1.HttpError) as scheme:
        await _post(lane, "ftp://127.0.0.1/x")
    assert (scheme.value.name, scheme.value.sent) == ("UnsupportedProtocol", False)
    lane.close()

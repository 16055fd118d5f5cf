"""Ways to keep a receipt code that work without JavaScript: a text file and a picture, both
as data: links made here (the code is shown once and never stored in clear, so no server
address could hand it out again)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape

from bot import texts


@dataclass(frozen=True)
class ReceiptLinks:
    text_href: str
    image_href: str
    file_name: str


def receipt_links(code: str) -> ReceiptLinks:
    words = texts.section("receipt_tools")
    line = str(words["file_line"]).format(code=code)
    return ReceiptLinks(
        text_href="data:text/plain;charset=utf-8," + quote(line),
        image_href="data:image/svg+xml;charset=utf-8," + quote(_svg(code, line)),
        file_name=str(words["file_name"]),
    )


def _svg(code: str, line: str) -> str:
    title, _, rest = line.partition("\n")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="720" height="240" viewBox="0 0 720 240">'
        '<rect width="720" height="240" fill="#fffbe6" stroke="#8a6d00" stroke-width="4"/>'
        f'<text x="30" y="60" font-size="26" font-family="sans-serif">{escape(title)}</text>'
        '<text x="30" y="135" font-size="48" font-weight="700" font-family="monospace" '
        f'letter-spacing="3">{escape(code)}</text>'
        f'<text x="30" y="195" font-size="18" font-family="sans-serif">{escape(rest)}</text>'
        "</svg>"
    )

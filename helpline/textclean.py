"""One normalisation for every text that crosses the service's boundary.

PostgreSQL refuses NUL in text, lone surrogates cannot be encoded, other control characters
and bidirectional overrides only ever hide or disguise what was written. Newline and tab stay:
children write in paragraphs.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, lone surrogates, bidi overrides and
# isolates (they can make a name or a note read differently from what it holds),
# and the two non-characters U+FFFE and U+FFFF.
_DROP = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)


def clean(value: str) -> str:
    """The text with line breaks unified (CR LF and lone CR become LF) and the rest dropped."""
    return _DROP.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_line(value: str) -> str:
    """A one-line value (names, codes, search terms): as `clean`, and no line breaks or tabs."""
    return " ".join(clean(value).replace("\t", " ").splitlines())

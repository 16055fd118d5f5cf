"""QR codes for TOTP enrolment: an otpauth:// URI as an SVG data URI (segno; CSP allows data:
images, and nothing is written to disk or served from an address)."""

from __future__ import annotations

import segno


def qr_data_uri(text: str) -> str:
    """The QR code of `text` as a black-on-white SVG data URI with a quiet zone."""
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=6, border=4)

"""Times as people read them: the service's zone (Beijing time by default), always with the date.

Every page and export formats a stored UTC time through `local_time`; templates made by
helpline.web.templates_for have it as the `local` filter, so no page can show UTC or a time
without its day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from helpline.settings import get_settings

FORMAT = "%Y-%m-%d %H:%M"
# What the zone is called on pages; a zone not listed is named by its IANA name.
ZONE_NAMES = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间"}


def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_time(value: datetime | None, fmt: str = FORMAT) -> str:
    """'2026-12-07 22:40' in the service's zone; '' for no time."""
    if value is None:
        return ""
    return value.astimezone(local_zone()).strftime(fmt)


def zone_name() -> str:
    zone = get_settings().timezone
    return ZONE_NAMES.get(zone, zone)


def iso_utc(value: datetime) -> str:
    """A time for a page's script (data-due, data-now): ISO 8601 in UTC, to the second. Never
    shown: the script writes what it computes from it in words (a countdown)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

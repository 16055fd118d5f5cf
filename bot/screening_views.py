"""The crisis screening's summary on the counsellor's case page (a triage case panel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot import screening
from helpline.web import templates_for
from triage import permissions as perm

templates = templates_for(Path(__file__).parent / "templates")


async def case_panel(session: AsyncSession, case: Any, staff: Any, csrf: str) -> Markup | None:
    if not perm.can_view_content(staff, case):
        return None
    found = await screening.find(session, case.id)
    if found is None:
        return None
    words = screening.scale()["words"]
    html = templates.env.get_template("bot/screening_panel.html").render(
        risk=words["risk"][found.risk],
        state=words["state"].get(found.state, found.state),
        rows=screening.summary(found),
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template

"""Issue 16: a restricted row tells staff who may not open it nothing about its urgency: no
countdown, no overdue mark, no place in the urgency order, no overdue filter hit."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from helpline.db import session_scope, utcnow
from tests.support.web import login
from tests.triage.support import FRAUD, SEXUAL_ABUSE, new_case
from triage.models import Case


def _rows(html: str) -> dict[int, str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"(<tr[^>]*>.*?</tr>)", body, re.S)
    out = {}
    for row in rows:
        found = re.search(r'href="/console/cases/(\d+)"', row)
        if found:
            out[int(found.group(1))] = row
    return out


async def test_restricted_rows_show_no_urgency(client) -> None:  # noqa: ANN001
    now = utcnow()
    ordinary = await new_case(FRAUD, "sch-a", ref="plain", at=now - timedelta(hours=2))
    restricted = await new_case(SEXUAL_ABUSE, "sch-a", ref="abuse", at=now - timedelta(hours=1))
    async with session_scope() as s:
        # Both overdue for their first response; the restricted one is the more urgent.
        await s.execute(
            update(Case)
            .where(Case.id.in_([ordinary, restricted]))
            .values(first_response_due=now - timedelta(minutes=5), first_response_at=None)
        )
    await login(client, "counsellor.a")
    page = await client.get("/console/queue")
    rows = _rows(page.text)
    hidden = rows[restricted]
    assert "受限" in hidden
    assert "overdue" not in hidden and "超时" not in hidden and 'class="error"' not in hidden
    assert "overdue" in rows[ordinary]  # the ordinary row keeps its countdown
    # Order: the restricted (emergency) row does not jump ahead of the ordinary one.
    order = list(rows)
    assert order.index(ordinary) < order.index(restricted)
    overdue = _rows((await client.get("/console/queue?overdue=true")).text)
    assert ordinary in overdue and restricted not in overdue

    client.cookies.clear()
    await login(client, "lead.a")  # may open it: sees its countdown
    rows = _rows((await client.get("/console/queue")).text)
    assert "overdue" in rows[restricted]

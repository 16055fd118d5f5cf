"""The counsellors' queue: listing with filters, take-next, claim, release, reassign.

Order: urgency (emergency first), then mandatory categories before others, then the longest
waiting. "Take the next case" is race-free on both backends: PostgreSQL skips rows another
transaction has locked (FOR UPDATE SKIP LOCKED) and every hand-out is a conditional UPDATE
... WHERE assignee_id IS NULL whose row count is checked, so one case goes to one person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from helpline import audit
from helpline.db import utcnow
from helpline.textclean import clean_line
from triage import permissions as perm
from triage.caseview import digest, words
from triage.models import Case, CaseStatus, Message, Organisation, Role, StaffUser

PAGE_SIZE = 50
OPEN_STATUSES = (
    CaseStatus.new,
    CaseStatus.claimed,
    CaseStatus.in_progress,
    CaseStatus.awaiting_report,
)
# Attempts before take-next gives up on a queue that others keep emptying under it.
TAKE_ATTEMPTS = 8
_ROW_COLUMNS = (
    Case.id,
    Case.org_id,
    Case.status,
    Case.labels,
    Case.urgency,
    Case.urgency_rank,
    Case.mandatory,
    Case.restricted,
    Case.assignee_id,
    Case.received_at,
    Case.first_response_due,
    Case.first_response_at,
    Case.channel,
)


class QueueConflict(Exception):
    """The case was handed to someone else meanwhile (or cannot be handed this way)."""


@dataclass(frozen=True)
class QueueFilters:
    school: str | None = None  # organisation code
    category: str | None = None
    urgency: str | None = None
    status: str | None = None  # one status, or None for every open case
    mine: bool = False
    overdue: bool = False
    page: int = 1
    q: str | None = None  # a case number, or words of the messages (see `search`)


@dataclass(frozen=True)
class Search:
    """What a search term became. `kind`: "number" (a case number: that case, any status),
    "text" (words looked for in the decrypted messages of the cases the viewer may open) or
    "refused" (words, from someone who may search by number only: nothing is listed)."""

    kind: str
    term: str
    ids: tuple[int, ...] = ()
    searched: int = 0  # text: cases whose messages were read
    cut: bool = False  # text: the bound (data/triage/console.yaml live.search_*) left some out


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    total: int
    page: int
    pages: int
    search: Search | None = None
    previews: dict[int, str] = field(default_factory=dict)


def priority_order() -> tuple[object, ...]:
    return (Case.urgency_rank, Case.mandatory.desc(), Case.received_at, Case.id)


def content_hidden(staff: StaffUser) -> ColumnElement[bool]:
    """Rows whose content `staff` may not open (SQL twin of `perm.can_view_content`, within
    the visible cases): restricted cases, unless a lead or the assigned counsellor."""
    if staff.role in perm.LEAD_ROLES:
        return false()
    if staff.role == Role.counsellor:
        return and_(
            Case.restricted.is_(True),
            or_(Case.assignee_id.is_(None), Case.assignee_id != staff.id),
        )
    return Case.restricted.is_(True)


def order_for(staff: StaffUser) -> tuple[object, ...]:
    """`priority_order`, except that rows `staff` may not open come last, by arrival only:
    their place would otherwise tell their urgency and whether they must be reported."""
    hidden = content_hidden(staff)
    return (
        sql_case((hidden, 1), else_=0),
        sql_case((hidden, 0), else_=Case.urgency_rank),
        sql_case((hidden, False), else_=Case.mandatory).desc(),
        Case.received_at,
        Case.id,
    )


def _filtered(
    staff: StaffUser,
    f: QueueFilters,
    now: datetime,
    search: Search | None = None,
    any_status: bool = False,
) -> Select[tuple[Case]]:
    query = select(Case).where(perm.visible_cases_clause(staff))
    if f.status:
        query = query.where(Case.status == f.status)
    elif search is None and not any_status:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    # A search looks at closed cases too (unless a status is chosen).
    if search is not None:
        query = query.where(_search_clause(search))
    if f.school:
        query = query.join(Organisation, Organisation.id == Case.org_id).where(
            Organisation.code == f.school
        )
    if f.category:
        # Labels are a JSON list; matching the quoted name works on SQLite and PostgreSQL.
        query = query.where(cast(Case.labels, String).like(f'%"{f.category}"%'))
    if f.urgency:
        query = query.where(Case.urgency == f.urgency)
    if f.category or f.urgency or f.overdue:
        # A restricted case's category and urgency are content, and its first-response
        # deadline follows from its urgency: no filter may reveal them.
        query = query.where(not_(content_hidden(staff)))
    if f.mine:
        query = query.where(Case.assignee_id == staff.id)
    if f.overdue:
        query = query.where(Case.first_response_at.is_(None), Case.first_response_due < now)
    return query


async def _page_ids(
    session: AsyncSession, staff: StaffUser, f: QueueFilters, now: datetime, search: Search | None
) -> tuple[list[int], int, int, int]:
    """The ids of the page asked for, in queue order; the total, the page, the page count."""
    base = _filtered(staff, f, now, search)
    total = (
        await session.execute(select(func.count()).select_from(base.order_by(None).subquery()))
    ).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, f.page), pages)
    # Page the ids first (an index-only scan on PostgreSQL, cheap even at deep OFFSETs), then
    # load just those rows.
    ids = list(
        (
            await session.execute(
                base.with_only_columns(Case.id)
                .order_by(*order_for(staff))
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        ).scalars()
    )
    return ids, total, page, pages


async def list_queue(
    session: AsyncSession, staff: StaffUser, f: QueueFilters, now: datetime | None = None
) -> QueuePage:
    now = now or utcnow()
    found = await search(session, staff, f, now) if f.q else None
    ids, total, page, pages = await _page_ids(session, staff, f, now, found)
    loaded = (
        await session.execute(
            select(Case).options(load_only(*_ROW_COLUMNS)).where(Case.id.in_(ids))
        )
    ).scalars()
    by_id = {case.id: case for case in loaded}
    rows = [by_id[i] for i in ids if i in by_id]
    return QueuePage(rows, total, page, pages, found, await previews(session, staff, rows))


# --- The live console (issue 17): previews, search, a fingerprint to poll, new emergencies.


def _limit(name: str) -> int:
    """A number of data/triage/console.yaml's `live` section."""
    return int(words()["live"][name])


def _search_clause(found: Search) -> ColumnElement[bool]:
    if found.kind == "number":
        clause = Case.id == found.ids[0]
        year = _number_year(found.term)
        if year is None:
            return clause
        # The number's year is the year the case was received (UTC, as Case.number writes it).
        return and_(
            clause,
            Case.received_at >= datetime(year, 1, 1, tzinfo=UTC),
            Case.received_at < datetime(year + 1, 1, 1, tzinfo=UTC),
        )
    if found.kind == "text":
        return Case.id.in_(found.ids)
    return false()  # refused: words from someone who may search by number only


def one_line(text: str, limit: int) -> str:
    """`text` on one line (runs of white space become one space), cut after `limit` chars."""
    flat = " ".join(clean_line(text).split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


async def previews(session: AsyncSession, staff: StaffUser, cases: list[Case]) -> dict[int, str]:
    """The newest message of the reporter of each case whose content `staff` may open
    (perm.can_view_content), on one line. Restricted cases of others get none: their text is
    not even read. Never logged; shown only in the page."""
    open_ids = [case.id for case in cases if perm.can_view_content(staff, case)]
    if not open_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(
            Message.case_id.in_(open_ids),
            Message.direction == "in",
            Message.text.is_not(None),
        )
        .group_by(Message.case_id)
    )
    rows = await session.execute(
        select(Message.case_id, Message.text).where(Message.id.in_(newest))
    )
    limit = _limit("preview_chars")
    return {case_id: one_line(text, limit) for case_id, text in rows if text}


_NUMBER = re.compile(r"(?:(\d{4})-)?(\d{1,12})")


def _number_year(term: str) -> int | None:
    match = _NUMBER.fullmatch(term)
    return int(match.group(1)) if match and match.group(1) else None


def search_term(raw: str | None) -> str | None:
    """What a typed search becomes: one line, trimmed, cut to live.search_max_chars."""
    if not raw:
        return None
    term = clean_line(raw).strip()[: _limit("search_max_chars")]
    return term or None


def _fold(text: str) -> str:
    """Text compared by the search: NFKC (full-width letters and digits become plain ones),
    case-folded, without white space."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _text_candidates(staff: StaffUser, f: QueueFilters, now: datetime) -> Select[tuple[int]]:
    """The cases a text search reads: those the filters list (any status unless one is
    chosen) whose content `staff` may open, the most recently active first, one more than the
    bound (to tell that the bound cut)."""
    return (
        _filtered(staff, f, now, any_status=True)
        .where(not_(content_hidden(staff)))
        .with_only_columns(Case.id)
        .order_by(Case.last_activity_at.desc(), Case.id.desc())
        .limit(_limit("search_max_cases") + 1)
    )


async def search(
    session: AsyncSession, staff: StaffUser, f: QueueFilters, now: datetime | None = None
) -> Search | None:
    """A case number finds that case (if `staff` may see its row). Words are looked for in
    the messages (both directions and the internal notes) of the cases whose content `staff`
    may open. The messages are encrypted at rest, so no SQL can search them: the newest
    `search_max_cases` such cases (at most `search_max_messages` messages) are decrypted and
    searched here, and `cut` tells the page that older ones were left out."""
    term = search_term(f.q)
    if term is None:
        return None
    number = _NUMBER.fullmatch(term)
    if number:
        return Search("number", term, (int(number.group(2)),))
    if not perm.can_search_text(staff):
        return Search("refused", term)
    now = now or utcnow()
    max_cases, max_messages = _limit("search_max_cases"), _limit("search_max_messages")
    candidates = list((await session.execute(_text_candidates(staff, f, now))).scalars())
    cut = len(candidates) > max_cases
    candidates = candidates[:max_cases]
    texts = list(
        await session.execute(
            select(Message.case_id, Message.text)
            .join(Case, Case.id == Message.case_id)
            .where(Message.case_id.in_(candidates), Message.text.is_not(None))
            # The cases in the candidates' order (most recently active first), each case's
            # newest messages first.
            .order_by(Case.last_activity_at.desc(), Case.id.desc(), Message.id.desc())
            .limit(max_messages + 1)
        )
    )
    if len(texts) > max_messages:
        texts, cut = texts[:max_messages], True
        # A case whose messages were not all read is searched only as far as they were.
    needle = _fold(term)
    hits = {case_id for case_id, text in texts if text and needle in _fold(text)}
    return Search("text", term, tuple(sorted(hits)), len(candidates), cut)


# What a row shows to those who may open the case, and to those who may not (a restricted
# case's urgency, category, deadline and new messages are content).
_FINGERPRINT_COLUMNS = (
    Case.urgency,
    Case.labels,
    Case.mandatory,
    Case.restricted,
    Case.first_response_due,
    Case.first_response_at,
    Case.last_activity_at,
)
_HIDDEN_FINGERPRINT_COLUMNS = (Case.id, Case.status, Case.assignee_id, Case.received_at)


async def fingerprint(
    session: AsyncSession, staff: StaffUser, f: QueueFilters, now: datetime | None = None
) -> str:
    """A short hash of what the queue page with these filters would list: it changes when a
    case arrives, leaves, changes or gets a message. The live script polls it and fetches the
    page again only when it changed. A text search is not run (no decryption): its candidate
    cases are hashed instead, so any change among them counts. A row `staff` may not open
    counts only by what the page shows of it."""
    now = now or utcnow()
    term = search_term(f.q)
    if term is not None and not _NUMBER.fullmatch(term) and perm.can_search_text(staff):
        ids = list((await session.execute(_text_candidates(staff, f, now))).scalars())
        extra: list[object] = ["text"]
    else:
        found = await search(session, staff, f, now) if term else None
        ids, total, page, pages = await _page_ids(session, staff, f, now, found)
        extra = [total, page, pages]
    hidden = content_hidden(staff)
    rows = {
        row[0]: [str(v) for v in (row[:4] if row.hidden else row)]
        for row in await session.execute(
            select(
                *_HIDDEN_FINGERPRINT_COLUMNS,
                *_FINGERPRINT_COLUMNS,
                sql_case((hidden, True), else_=False).label("hidden"),
                select(func.max(Message.id))
                .where(Message.case_id == Case.id, not_(hidden))
                .correlate(Case)
                .scalar_subquery()
                .label("newest"),
            ).where(Case.id.in_(ids))
        )
    }
    return digest([extra, [rows.get(i) for i in ids]])


async def waiting_emergencies(
    session: AsyncSession, staff: StaffUser, now: datetime | None = None, limit: int = 20
) -> list[Case]:
    """Open emergencies in `staff`'s scope nobody has answered yet, received within the last
    live.emergency_window_minutes, newest first: what the console announces by sound and
    notification. A case whose content `staff` may not open is left out (its urgency is
    content: escalation's own alert, which names no category, covers it)."""
    if not perm.can_use_queue(staff):
        return []
    now = now or utcnow()
    window = timedelta(minutes=_limit("emergency_window_minutes"))
    rows = await session.execute(
        select(Case)
        .options(load_only(*_ROW_COLUMNS))
        .where(
            perm.visible_cases_clause(staff),
            not_(content_hidden(staff)),
            Case.urgency == "emergency",
            Case.status.in_(OPEN_STATUSES),
            Case.first_response_at.is_(None),
            Case.received_at >= now - window,
            Case.received_at <= now,
        )
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


def _takeable(staff: StaffUser) -> Select[tuple[int]]:
    query = select(Case.id).where(
        perm.visible_cases_clause(staff),
        Case.status == CaseStatus.new,
        Case.assignee_id.is_(None),
    )
    if staff.role not in perm.LEAD_ROLES:
        # Restricted cases are handed out by the safeguarding lead.
        query = query.where(Case.restricted.is_(False))
    return query.order_by(*priority_order()).limit(1)


async def take_next(session: AsyncSession, staff: StaffUser) -> Case | None:
    """Hand the highest-priority unassigned case to `staff`; None when there is none."""
    if not perm.can_take_next(staff):
        raise PermissionError("role cannot take cases")
    for _ in range(TAKE_ATTEMPTS):
        case_id = (
            await session.execute(_takeable(staff).with_for_update(skip_locked=True))
        ).scalar_one_or_none()
        if case_id is None:
            return None
        if await _assign_if_free(session, case_id, staff.id):
            await audit.record(session, _actor(staff), "case.taken", "case", case_id)
            return await session.get(Case, case_id)
    return None


async def _assign_if_free(session: AsyncSession, case_id: int, staff_id: int) -> bool:
    result = await session.execute(
        update(Case)
        .where(Case.id == case_id, Case.assignee_id.is_(None))
        .values(
            assignee_id=staff_id,
            status=_claimed_status(),
            last_activity_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    case = await session.get(Case, case_id)
    if case is not None:
        await session.refresh(case)
    return True


def _claimed_status() -> object:
    # A reopened or new case becomes claimed; one already further along keeps its status.
    return sql_case((Case.status == CaseStatus.new, CaseStatus.claimed.value), else_=Case.status)


async def claim(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Take one particular case; QueueConflict if someone else holds it."""
    if case.assignee_id == staff.id:
        return
    if case.assignee_id is not None or not await _assign_if_free(session, case.id, staff.id):
        raise QueueConflict("already_assigned")
    await audit.record(session, _actor(staff), "case.claimed", "case", case.id)


async def release(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Give the case back to the queue."""
    previous = case.assignee_id
    case.assignee_id = None
    if case.status in (CaseStatus.claimed, CaseStatus.in_progress):
        case.status = CaseStatus.new
    case.last_activity_at = utcnow()
    await audit.record(
        session, _actor(staff), "case.released", "case", case.id, previous_assignee=previous
    )


async def reassign(session: AsyncSession, staff: StaffUser, case: Case, to: StaffUser) -> None:
    if not perm.may_be_assignee(to, case):
        raise QueueConflict("bad_assignee")
    previous = case.assignee_id
    case.assignee_id = to.id
    if case.status == CaseStatus.new:
        case.status = CaseStatus.claimed
    case.last_activity_at = utcnow()
    await audit.record(
        session,
        _actor(staff),
        "case.reassigned",
        "case",
        case.id,
        previous_assignee=previous,
        assignee=to.id,
    )


async def assignable_staff(session: AsyncSession, case: Case) -> list[StaffUser]:
    """Counsellors and leads who may be handed `case` (for the lead's reassign form)."""
    rows = (
        await session.execute(
            select(StaffUser)
            .where(
                StaffUser.active.is_(True),
                StaffUser.role.in_((Role.counsellor, Role.safeguarding_lead)),
                or_(
                    StaffUser.org_id == case.org_id,
                    StaffUser.org_id == case.org.parent_id,
                ),
            )
            .order_by(StaffUser.username)
        )
    ).scalars()
    return [s for s in rows if perm.may_be_assignee(s, case)]


async def start_work(session: AsyncSession, staff: StaffUser, case: Case) -> None:
    """Someone acts on the case (reply, note): it is theirs if it was free, and in progress.

    A counsellor cannot act on a case another person holds; the lead may (supervision).
    """
    if case.assignee_id is None:
        await claim(session, staff, case)
    elif case.assignee_id != staff.id and staff.role not in perm.LEAD_ROLES:
        raise QueueConflict("assigned_to_other")
    if case.status in (CaseStatus.new, CaseStatus.claimed):
        case.status = CaseStatus.in_progress
    case.last_activity_at = utcnow()


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.id}"

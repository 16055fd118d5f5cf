"""The first start (issue 17): messages analysed by the rules alone while the model trained
are analysed again once it is loaded, and folded into their cases the way a later message
is: urgency, labels, the mandatory flag and the risk level only go up. A model that reads a
message as less urgent than the rules did leaves the case as it is, and the audit event says
so (`model_lower: true`); a counsellor decides, by relabelling, never the machine silently.

`run_reanalysis` is the background service: it looks for the model (nlu hot-loads it in a
thread of its own), then works the backlog off in small transactions.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline import audit
from helpline.datafiles import data_yaml
from helpline.db import session_scope
from helpline.localtime import local_time, zone_name
from helpline.vocabulary import urgency_rank
from nlu.warmup import read_status
from triage.fold import fold_analysis
from triage.hooks import run_case_hooks
from triage.models import Case, Message, NluBacklog

log = logging.getLogger(__name__)

BATCH = 50  # messages a transaction: the backlog of a first start is a few dozen at most
POLL_SECONDS = 5.0  # while rules-only or while a backlog remains
IDLE_SECONDS = 60.0  # the model is loaded and the backlog empty: another process may queue


async def backlog_size(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(NluBacklog))).scalar_one())


async def reanalyse_backlog(session: AsyncSession, pipeline: nlu.Pipeline) -> int:
    """Analyse up to BATCH queued messages with `pipeline` (which has the model) and fold
    each into its case; no commit. Returns how many were done. A row another process took
    first (its delete found nothing) is skipped."""
    assert not pipeline.rules_only, "re-analysis needs the model"
    rows = (
        await session.execute(
            select(NluBacklog.message_id).order_by(NluBacklog.message_id).limit(BATCH)
        )
    ).scalars()
    done = 0
    for message_id in list(rows):
        claimed = await session.execute(
            delete(NluBacklog).where(NluBacklog.message_id == message_id)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        message = await session.get(Message, message_id)
        if message is None or not message.text:
            continue
        await _reanalyse(session, pipeline, message)
        done += 1
    return done


async def _case_of(session: AsyncSession, message: Message) -> Case:
    """The message's case, or the case it was merged into meanwhile."""
    case = await session.get(Case, message.case_id)
    assert case is not None
    if case.merged_into_id is not None:
        target = await session.get(Case, case.merged_into_id)
        case = target or case
    return case


async def _reanalyse(session: AsyncSession, pipeline: nlu.Pipeline, message: Message) -> None:
    assert message.text is not None
    analysis = pipeline.analyze(message.text)
    case = await _case_of(session, message)
    before_labels, before_urgency = list(case.labels), case.urgency
    last_activity = case.last_activity_at
    # Folded in at the message's own receipt: deadlines run from when the child wrote.
    raised = await fold_analysis(session, case, analysis, message.created_at)
    case.last_activity_at = last_activity  # a re-analysis is not the reporter's activity
    stored = json.dumps(analysis.to_dict(), ensure_ascii=False)
    message.analysis = stored
    if json.loads(case.analysis or "{}").get("rules_only"):
        case.analysis = stored  # the case page shows the model's reading, not the rules'
    await audit.record(
        session,
        "system",
        "case.reanalysed",
        "case",
        case.id,
        message_id=message.id,
        previous_labels=before_labels,
        previous_urgency=before_urgency,
        model_labels=analysis.labels,
        model_urgency=analysis.urgency,
        labels=case.labels,
        urgency=case.urgency,
        raised=raised,
        model_lower=urgency_rank(analysis.urgency) > urgency_rank(before_urgency),
    )
    if raised:
        await run_case_hooks("case_raised", session, case, analysis)


async def reanalyse_when_ready() -> int:
    """One round: if this process has the model, work the whole backlog off (a transaction
    per batch). Returns how many messages were analysed again."""
    pipeline = await asyncio.to_thread(nlu.default_pipeline)  # also starts the hot load
    if pipeline.rules_only:
        return 0
    total = 0
    while True:
        async with session_scope() as session:
            done = await reanalyse_backlog(session, pipeline)
        total += done
        if done < BATCH:
            break
    if total:
        log.info("messages analysed again with the model", extra={"count": total})
    return total


async def run_reanalysis() -> None:
    """Background service: rules-only until the model is loaded, then the backlog."""
    while True:
        try:
            await reanalyse_when_ready()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup: the backlog stays, the next round retries
            log.exception("re-analysis round failed")
        idle = not nlu.default_pipeline().rules_only
        await asyncio.sleep(IDLE_SECONDS if idle else POLL_SECONDS)


async def first_start_banner(session: AsyncSession, staff: object) -> list[str]:
    """triage's `console_banners` hook: while this process analyses by the rules alone,
    every staff member sees until when, and how many messages wait for the model. Nothing
    (and no SQL) once the model is loaded."""
    pipeline = nlu.loaded_pipeline()
    if pipeline is None or not pipeline.rules_only:
        return []
    words = data_yaml("triage", "console.yaml")["first_start"]
    status = read_status(pipeline.paths)
    if status is None:
        out = [words["no_model"]]
    else:
        until = local_time(status.expected_end())
        out = [words["training"].format(until=until, zone=zone_name())]
    count = await backlog_size(session)
    if count:
        out.append(words["backlog"].format(count=count))
    return out

"""Counsellors' relabelling as training data: `helpline nlu export-feedback`.

The newest correction of each case wins; the reporter's messages it covers are written as
Rasa NLU YAML (the format of data/nlu/train/) with one block per (labels, urgency), personal
data redacted first (phone numbers, ids, names never enter training data). The export is
audited with counts only.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import nlu
from helpline import audit
from helpline.db import dispose_engine, session_scope
from helpline.files import write_private
from helpline.settings import get_settings
from nlu.labels import join_labels
from triage.models import LabelFeedback, Message


async def latest_feedback(session: AsyncSession) -> list[LabelFeedback]:
    """The newest correction per case, oldest case first."""
    rows = (await session.execute(select(LabelFeedback).order_by(LabelFeedback.id))).scalars()
    newest: dict[int, LabelFeedback] = {}
    for row in rows:
        newest[row.case_id] = row
    return sorted(newest.values(), key=lambda r: r.case_id)


async def training_blocks(session: AsyncSession) -> list[dict[str, object]]:
    """Rasa NLU entries: intent (labels joined by '+'), urgency metadata, examples."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fb in await latest_feedback(session):
        if not fb.message_ids:
            continue
        texts = (
            await session.execute(
                select(Message.text)
                .where(Message.id.in_(fb.message_ids), Message.kind == "text")
                .order_by(Message.id)
            )
        ).scalars()
        key = (join_labels(fb.labels), fb.urgency)
        for text in texts:
            example = " ".join(nlu.redact(text or "").split())
            if example and example not in grouped[key]:
                grouped[key].append(example)
    return [
        {
            "intent": intent,
            "metadata": {"urgency": urgency},
            "examples": "".join(f"- {e}\n" for e in examples),
        }
        for (intent, urgency), examples in sorted(grouped.items())
    ]


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def to_yaml(blocks: list[dict[str, object]]) -> str:
    dumper = type("FeedbackDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(str, _literal)
    body = {"version": "3.1", "nlu": blocks}
    return yaml.dump(body, Dumper=dumper, allow_unicode=True, sort_keys=False)


async def export(out: Path, actor: str = "cli") -> int:
    """Write the feedback training file; returns the number of examples."""
    async with session_scope() as session:
        blocks = await training_blocks(session)
        count = sum(str(b["examples"]).count("\n") for b in blocks)
        await asyncio.to_thread(_write, out, to_yaml(blocks))
        await audit.record(
            session, actor, "feedback.exported", "feedback", "", examples=count, intents=len(blocks)
        )
    await dispose_engine()
    return count


def _write(out: Path, text: str) -> None:
    write_private(out, text)


def export_feedback(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="where to write the Rasa NLU YAML (default: var/feedback/)"),
    ] = None,
) -> None:
    """Write counsellors' relabelling as Rasa NLU training data (personal data redacted)."""
    target = out or get_settings().var_dir / "feedback" / "nlu_feedback.yml"
    count = asyncio.run(export(target))
    typer.echo(f"wrote {count} examples to {target}")

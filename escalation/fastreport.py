"""The written fast report (速报, 000 三.5) drafted from a case: what is known, what is missing."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime

from docx import Document
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.config import label_words, rules, settings
from escalation.models import ReportState
from escalation.reports import case_reports
from helpline.datafiles import section_text
from helpline.db import utcnow
from helpline.localtime import local_time, local_zone
from helpline.vocabulary import display
from nlu.elements import resolve_time
from nlu.paths import default_paths
from triage.casework import report_elements
from triage.models import Case, Reporter


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    value: str | None  # None: missing, the duty officer writes it in

    @property
    def missing(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class FastReport:
    title: str
    case_number: str
    drafted_at: str
    items: list[Item]
    missing_word: str

    @property
    def missing(self) -> list[str]:
        return [item.title for item in self.items if item.missing]


_said = section_text("escalation", "fastreport")  # its phrasing, from data/escalation/texts.yaml


def _local(at: datetime) -> str:
    return local_time(at, _said("time_format"))


def _list(values: list[str]) -> str:
    return _said("separator").join(values)


def _join(values: list[str]) -> str | None:
    return _list(values) if values else None


async def draft(session: AsyncSession, case: Case) -> FastReport:
    """The elements the documents require, filled from the case; the rest marked missing."""
    conf, words = settings()["fast_report"], label_words()
    elements: dict[str, list[str]] = json.loads(case.elements or "{}")
    found = report_elements(case).found  # with the school the case belongs to
    reporter = await session.get(Reporter, case.reporter_id)
    kind = reporter.kind if reporter is not None else "unknown"
    # The document's own phrasing where it has one, else the shared name: never a raw code.
    channel = conf["channels"].get(case.channel) or display("channels", case.channel)
    who = conf["reporter_kinds"].get(kind) or display("reporter_kinds", kind)
    source = _said("source", channel=channel, who=who, received=_local(case.received_at))
    injuries = elements.get("injuries") or []
    severity = words.get(case.urgency, case.urgency) + (
        _said("injuries", injuries=_list(injuries)) if injuries else ""
    )
    harm = [label for label in case.labels if label != "general"]
    values = {
        "source": source,
        "time": _when(elements.get("time") or [], case),
        "place": _join([*found.get("school", []), *elements.get("place", [])]),
        "scale": _join(elements.get("count") or []),
        "people": _join([*(elements.get("grade") or []), *(elements.get("people") or [])]),
        "severity": severity,
        "manner": _join([words.get(label, label) for label in harm]),
        "course": None,
        "measures_taken": await _measures(session, case),
        "likely_development": None,
    }
    order = [*rules().raw["fast_report_elements"]["required"]]
    order += rules().raw["fast_report_elements"]["by_nature"]
    items = [Item(key, conf["elements"][key], values.get(key)) for key in order]
    return FastReport(conf["title"], case.number, _local(utcnow()), items, conf["missing"])


def _when(words: list[str], case: Case) -> str | None:
    """The date the child's words point to, resolved against the receipt, with their words."""
    if not words:
        return None
    said = _list(words)
    received = case.received_at.astimezone(local_zone())
    resolved = resolve_time(default_paths().lexicon_dir, words, received)
    return _said("said", resolved=resolved, said=said) if resolved else said


async def _measures(session: AsyncSession, case: Case) -> str | None:
    kinds = settings()["report_kinds"]
    done = [
        _said(
            "measure",
            made_at=_local(r.made_at),
            kind=kinds.get(r.kind, r.kind),
            reference=r.reference,
        )
        for r in await case_reports(session, case.id)
        if r.state == ReportState.done and r.made_at is not None
    ]
    return _said("measures_separator").join(done) if done else None


def to_docx(report: FastReport) -> bytes:
    """A .docx a duty officer can complete and send: a title, the case, a two-column table."""
    document = Document()
    document.add_heading(report.title, level=1)
    heading = _said("heading", number=report.case_number, drafted_at=report.drafted_at)
    document.add_paragraph(heading)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for item in report.items:
        cells = table.add_row().cells
        cells[0].text = item.title
        cells[1].text = item.value if item.value is not None else report.missing_word
    if report.missing:
        document.add_paragraph(_said("missing", missing=_list(report.missing)))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

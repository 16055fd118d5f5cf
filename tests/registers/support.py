"""Independent counts for the registers' tests: straight rows of the tables, Python over them.

Nothing here calls registers' code: month bucketing, percentiles (numpy's inverted-CDF, i.e.
nearest rank), report outcomes and repeat reporters are computed afresh from the raw rows.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy
from sqlalchemy import text

from helpline.db import session_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR_CASES = 120
SEED = 20261


def _aware(value: Any) -> datetime | None:
    """A timestamp from a raw row (SQLite gives text, PostgreSQL a datetime), as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))


def _labels(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


async def raw_rows() -> dict[str, list[dict[str, Any]]]:
    """The raw rows of organisations, cases (+ reporter kind) and statutory reports."""
    async with session_scope() as s:
        orgs = (await s.execute(text("SELECT id, code, parent_id FROM organisations"))).all()
        cases = (
            await s.execute(
                text(
                    "SELECT c.id, c.org_id, c.reporter_id, c.channel, c.labels, c.urgency, "
                    "c.status, c.received_at, c.first_response_at, c.merged_into_id, r.kind "
                    "FROM cases c JOIN reporters r ON r.id = c.reporter_id"
                )
            )
        ).all()
        reports = (
            await s.execute(
                text(
                    "SELECT case_id, state, late_minutes, due_at, opened_at, made_at "
                    "FROM statutory_reports"
                )
            )
        ).all()
    return {
        "orgs": [dict(r._mapping) for r in orgs],
        "cases": [
            {
                **dict(r._mapping),
                "labels": _labels(r.labels),
                "received_at": _aware(r.received_at),
                "first_response_at": _aware(r.first_response_at),
            }
            for r in cases
        ],
        "reports": [
            {
                **dict(r._mapping),
                "due_at": _aware(r.due_at),
                "opened_at": _aware(r.opened_at),
                "made_at": _aware(r.made_at),
            }
            for r in reports
        ],
    }


def month_key(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def expected(raw: dict[str, list[dict[str, Any]]], org_ids: set[int], month: str, now: datetime):  # noqa: ANN201
    """The month's figures for the cases of `org_ids`, computed straight from the rows."""
    cases = [
        c
        for c in raw["cases"]
        if c["org_id"] in org_ids
        and c["merged_into_id"] is None
        and month_key(c["received_at"]) == month
    ]
    ids = {c["id"] for c in cases}
    categories: Counter[str] = Counter()
    for c in cases:
        categories.update(set(c["labels"]))
    minutes = [
        (c["first_response_at"] - c["received_at"]).total_seconds() / 60
        for c in cases
        if c["first_response_at"] is not None
    ]
    reporters = {c["reporter_id"] for c in cases}
    per_reporter = Counter(
        c["reporter_id"]
        for c in raw["cases"]
        if c["merged_into_id"] is None and month_key(c["received_at"]) <= month
    )
    outcomes: Counter[str] = Counter()
    for r in raw["reports"]:
        if r["case_id"] not in {c["id"] for c in raw["cases"] if c["org_id"] in org_ids}:
            continue
        if month_key(r["opened_at"]) != month:
            continue
        outcomes["due"] += 1
        if r["state"] == "done":
            outcomes["late" if r["late_minutes"] else "on_time"] += 1
        elif r["state"] == "missed" or r["due_at"] <= now:
            outcomes["missed"] += 1
        else:
            outcomes["pending"] += 1
    return {
        "ids": ids,
        "cases": len(cases),
        "categories": categories,
        "urgency": Counter(c["urgency"] for c in cases),
        "channel": Counter(c["channel"] for c in cases),
        "reporter": Counter(c["kind"] for c in cases),
        "responded": len(minutes),
        "median": round(float(numpy.median(minutes)), 1) if minutes else None,
        "p90": round(float(numpy.percentile(minutes, 90, method="inverted_cdf")), 1)
        if minutes
        else None,
        "reports": outcomes,
        "open": sum(1 for c in cases if c["status"] != "closed"),
        "repeat": sum(1 for rid in reporters if per_reporter[rid] >= 2),
        "bullying": sum(1 for c in cases if "bullying" in c["labels"]),
    }


def shown(n: int) -> object:
    """What a suppressed export must show for a count of children: 1 and 2 hide, 0 stays 0."""
    return "<3" if 0 < n < 3 else n


def xlsx_text(content: bytes) -> str:
    """Every string an XLSX file holds (its XML parts), for grepping."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.endswith(".xml")
        )

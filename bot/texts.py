"""What a reporter is told: texts, hotline numbers per region and limits, all from data/bot/."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpline.datafiles import forget, load_yaml, lookup
from helpline.localtime import local_time, zone_name
from helpline.settings import get_settings
from helpline.vocabulary import CHILD_HARM, HARM_LABELS

# Report elements asked for, in this order, one at a time (keys of nlu's Analysis.elements).
ASKED_ELEMENTS: tuple[str, ...] = ("time", "place", "people")


@dataclass(frozen=True)
class Hotline:
    name: str
    number: str
    hours: str
    all_day: bool = False  # answered day and night

    def line(self) -> str:
        return f"{self.name}：{self.number}（{self.hours}）"


def _data_dir() -> Path:
    return get_settings().data_dir / "bot"


def _load(name: str) -> dict[str, Any]:
    loaded = load_yaml(_data_dir() / name)
    if not isinstance(loaded, dict):
        raise ValueError(f"data/bot/{name} must be a mapping")
    return loaded


def load(name: str) -> dict[str, Any]:
    """One whole file of data/bot/ (e.g. "screening.yaml"), cached like the texts."""
    return _load(name)


def reload() -> None:
    """Forget loaded files (tests and administrators changing data/bot/)."""
    forget()
    _everyday_topics.cache_clear()


def text(key: str, audience: str = "child", **values: Any) -> str:
    """One text by dotted key, e.g. text("questions.time"), with its {fields} filled in.

    `audience` "parent" takes the parents' wording (texts.yaml for_parents) where there is one.
    """
    loaded = _load("texts.yaml")
    node: Any = lookup(loaded.get("for_parents") or {}, key) if audience == "parent" else None
    if node is None:
        node = lookup(loaded, key)
        if node is None:
            raise KeyError(key)
    return str(node).format(**values) if values else str(node)


def audience_of(reporter_kind: str | None) -> str:
    """Whom the replies address: a parent as a parent, everyone else as the child."""
    return "parent" if reporter_kind == "parent" else "child"


def section(key: str) -> Any:
    """A whole part of texts.yaml (e.g. "web") as loaded."""
    return _load("texts.yaml")[key]


def mapping(key: str) -> dict[str, str]:
    """A table of texts, e.g. mapping("status_words") or mapping("screening.buttons")."""
    node: Any = _load("texts.yaml")
    for part in key.split("."):
        node = node[part]
    return {str(k): str(v) for k, v in node.items()}


def limits() -> dict[str, Any]:
    return _load("limits.yaml")


def hotlines(region: str | None, kind: str) -> list[Hotline]:
    """The numbers of `kind` (emergency, crisis, fraud, child_protection) for a region."""
    table = _load("hotlines.yaml")
    regional = table.get(region or "default") or {}
    entries = regional.get(kind) or table["default"].get(kind) or []
    return [
        Hotline(str(e["name"]), str(e["number"]), str(e["hours"]), bool(e.get("all_day", False)))
        for e in entries
    ]


@dataclass(frozen=True)
class SafetyBlock:
    """One part of the safety answer: a heading sentence and the numbers that go with it."""

    kind: str  # emergency | crisis | fraud | sexual_abuse | child_protection | mandatory | note
    text: str
    lines: tuple[Hotline, ...] = ()

    def render(self) -> str:
        return "\n".join([self.text, *(f"· {h.line()}" for h in self.lines)])


def safety_blocks(
    labels: list[str],
    urgency: str,
    mandatory: bool,
    region: str | None,
    say: Callable[[str], str] | None = None,
    audience: str = "child",
) -> list[SafetyBlock]:
    """The safety information fitting a case, most urgent first.

    `say` gives the sentence of each part (default: the words to the child in texts.yaml, or
    to a parent for `audience` "parent"; the hotline call log passes the script for who is
    calling, bot/call_scripts.py).
    """
    if say is None:

        def say(key: str) -> str:
            return text(key, audience)

    blocks: list[SafetyBlock] = []
    if urgency == "emergency":
        # Under "24-hour lines" only lines that answer at night too (it may be 3 a.m.).
        lines = hotlines(region, "emergency") + hotlines(region, "crisis")
        numbers = [h for h in lines if h.all_day]
        blocks.append(SafetyBlock("emergency", say("emergency_first")))
        blocks.append(SafetyBlock("emergency", say("emergency_lines"), tuple(numbers)))
        blocks.append(SafetyBlock("note", say("emergency_alerted")))
    elif "crisis" in labels:
        blocks.append(SafetyBlock("crisis", say("crisis"), tuple(hotlines(region, "crisis"))))
    if "sexual_abuse" in labels:
        blocks.append(SafetyBlock("sexual_abuse", say("sexual_abuse")))
    if "fraud" in labels:
        blocks.append(SafetyBlock("fraud", say("fraud"), tuple(hotlines(region, "fraud"))))
    if urgency != "emergency" and CHILD_HARM & set(labels) - {"crisis"}:
        numbers = tuple(hotlines(region, "child_protection"))
        blocks.append(SafetyBlock("child_protection", say("child_protection"), numbers))
    if mandatory:
        blocks.append(SafetyBlock("mandatory", say("mandatory")))
    return blocks


def everyday_advice(normalised: str, labels: list[str], region: str | None) -> SafetyBlock | None:
    """Advice and a resource for an everyday worry (study stress, friends, family, mood), for
    a message with no harm label; None when no topic of data/bot/everyday.yaml fits."""
    if set(HARM_LABELS) & set(labels):
        return None
    for topic in _everyday_topics():
        if topic.words.search(normalised):
            lines = tuple(line for kind in topic.lines for line in hotlines(region, kind))
            return SafetyBlock("advice", f"{topic.advice}\n{topic.resource}", lines)
    return None


@dataclass(frozen=True)
class _Topic:
    words: re.Pattern[str]
    advice: str
    resource: str
    lines: tuple[str, ...]


@lru_cache
def _everyday_topics() -> list[_Topic]:
    table = _load("everyday.yaml")["topics"]
    return [
        _Topic(
            re.compile(spec["words"]),
            str(spec["advice"]).strip(),
            str(spec["resource"]),
            tuple(spec.get("lines") or ()),
        )
        for spec in table.values()
    ]


def acknowledgement(labels: list[str], follow_up: bool, audience: str = "child") -> str:
    if follow_up:
        return text("received.more", audience)
    key = "received.harm" if set(HARM_LABELS) & set(labels) else "received.general"
    return text(key, audience)


def missing_element(elements: dict[str, list[str]], asked: list[str]) -> str | None:
    """The next report element to ask about gently: not known yet and never asked before."""
    for key in ASKED_ELEMENTS:
        if not elements.get(key) and key not in asked:
            return key
    return None


@dataclass(frozen=True)
class Closing:
    """How the follow-up page tells the reporter their case was closed."""

    title: str
    when: str
    outcome: str
    again: str


def closing(closed_at: datetime | None, outcome: str | None) -> Closing:
    words = section("closed")
    outcomes = words["outcomes"]
    how = outcomes.get(outcome or "", outcomes["other"])
    return Closing(
        title=str(words["title"]),
        when=str(words["when"]).format(when=f"{local_time(closed_at)}（{zone_name()}）"),
        outcome=str(words["outcome"]).format(outcome=how),
        again=str(words["again"]),
    )

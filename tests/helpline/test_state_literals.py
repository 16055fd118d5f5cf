"""Every state is a StrEnum member, never a bare string (issue 20).

A state set is a StrEnum in the module that owns its column (escalation.models: ChainState,
DeliveryState, ...; registers.models: SendState; ...). The database keeps the same strings,
so code compares with and assigns the members. This scan fails when a bare state string comes
back where a state is compared, assigned, filtered on or written: `x.state == "sent"`,
`Delivery.state.in_(("pending", ...))`, `chain.state = "active"`, `.values(state="done")`,
`{"state": "sent"}`, `OPEN_STATES = ("due", ...)`.
"""

from __future__ import annotations

import ast
import enum
from pathlib import Path

import pytest

from bot.models import ScreeningState
from escalation.models import ChainReason, ChainState, DeliveryPurpose, DeliveryState, ReportState
from escalation.phone_models import ReceiptState
from escalation.timers import TimerKind, TimerState
from escalation.trial_alert import TrialOutcome
from helpline.settings import PROJECT_ROOT
from registers.models import SendState
from registers.stats import ReportOutcome
from triage.models import CaseStatus, GrantState

STATE_ENUMS: tuple[type[enum.StrEnum], ...] = (
    ChainState,
    ChainReason,
    DeliveryState,
    DeliveryPurpose,
    ReportState,
    ReceiptState,
    TimerKind,
    TimerState,
    TrialOutcome,
    SendState,
    ReportOutcome,
    GrantState,
    ScreeningState,
    CaseStatus,
)
STATE_VALUES = frozenset(member.value for kind in STATE_ENUMS for member in kind)
# Attributes, names and keywords that hold a state of one of the sets above.
STATE_FIELDS = frozenset({"state", "status", "purpose", "reason", "outcome", "kind"})
PACKAGES = ("escalation", "registers", "triage", "bot", "helpline", "nlu", "assembly")


def _field(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _literals(node: ast.AST | None) -> list[str]:
    """The state strings `node` spells out: a constant, a tuple/list/set of them, a ternary."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in STATE_VALUES else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [found for item in node.elts for found in _literals(item)]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _assigned(target: ast.AST, value: ast.AST) -> list[str]:
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        return [s for t, v in zip(target.elts, value.elts, strict=False) for s in _assigned(t, v)]
    if isinstance(target, ast.Attribute) and target.attr in STATE_FIELDS:
        return _literals(value)
    if isinstance(target, ast.Name) and "STATE" in target.id.upper():
        return _literals(value)
    return []


def bare_states(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every bare state string in a state position of `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        hits: list[str] = []
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_field(side) in STATE_FIELDS for side in sides):
                hits = [s for side in sides for s in _literals(side)]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "in_":
                if _field(func.value) in STATE_FIELDS:
                    hits = [s for arg in node.args for s in _literals(arg)]
            hits += [
                s for kw in node.keywords if kw.arg in STATE_FIELDS for s in _literals(kw.value)
            ]
        elif isinstance(node, ast.Assign):
            hits = [s for target in node.targets for s in _assigned(target, node.value)]
        elif isinstance(node, ast.Dict):
            hits = [
                s
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value in STATE_FIELDS
                for s in _literals(value)
            ]
        found += [(getattr(node, "lineno", 0), s) for s in hits]
    return found


def _modules() -> list[Path]:
    return [
        path for package in PACKAGES for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    ]


def test_no_bare_state_string_in_the_packages() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: {literal!r}"
        for path in _modules()
        for line, literal in bare_states(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use the state's StrEnum member:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "source",
    [
        'if found.state != "sent": pass',
        'x = Delivery.state.in_(("pending", "sending"))',
        'chain.state, chain.ended_at = "closed", now',
        'q = update(Timer).values(state="done")',
        'rows = [{"id": 1, "state": "sent"}]',
        'OPEN_STATES = ("due", "missed")',
        'ok = case.status != "closed"',
        'escalation.state = "exhausted" if sent else "incident"',
        'Screening(case_id=1, state="active")',
    ],
)
def test_the_scan_finds_a_bare_state(source: str) -> None:
    assert bare_states(source), source


@pytest.mark.parametrize(
    "source",
    [
        "if found.state != DeliveryState.sent: pass",
        'if kind == "sms": pass',  # not a state value
        'label = words["state"]["active"]',  # a lookup of display words, not a state
        'if analysis.urgency == "emergency": pass',
    ],
)
def test_the_scan_leaves_members_and_other_strings(source: str) -> None:
    assert bare_states(source) == []


def test_the_database_keeps_the_same_strings() -> None:
    """The columns are plain strings: a member is stored as its value (no migration)."""
    assert all(member == member.value for kind in STATE_ENUMS for member in kind)
    assert ChainState.active == "active" and DeliveryState.sent == "sent"

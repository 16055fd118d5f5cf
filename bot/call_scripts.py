"""The hotline operator's script: what to say to the caller, chosen by who is calling.

The texts are data (data/bot/call_scripts.yaml). The parts and their order are those of the
answer a child gets in the chat (texts.safety_blocks: danger first, then crisis lines, sexual
abuse, fraud, child protection, the mandatory report), each in the words of the caller's
script, then the caller's advice for each category of the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import texts
from bot.texts import SafetyBlock

ADVICE_LABELS = ("crisis", "bullying", "abuse", "neglect", "danger")


def _scripts() -> dict[str, Any]:
    return texts.load("call_scripts.yaml")


def script_name(kind: str) -> str:
    """The script for a caller kind: its own, or the fallback named in the data."""
    data = _scripts()
    if kind in data["scripts"]:
        return kind
    return str(data.get("fallback", {}).get(kind, "other"))


def say_for(kind: str) -> Callable[[str], str]:
    """The caller's sentence for each part of the answer (a key of the script)."""
    script = _scripts()["scripts"][script_name(kind)]

    def say(key: str) -> str:
        return str(script[key])

    return say


def blocks(
    kind: str, labels: list[str], urgency: str, mandatory: bool, region: str | None
) -> list[SafetyBlock]:
    """Everything the operator reads out for this call, in order."""
    say = say_for(kind)
    advice = _scripts()["scripts"][script_name(kind)]["advice"]
    found = [SafetyBlock("note", say("opening"))]
    found += texts.safety_blocks(labels, urgency, mandatory, region, say=say)
    found += [
        SafetyBlock("advice", str(advice[label])) for label in ADVICE_LABELS if label in labels
    ]
    return found

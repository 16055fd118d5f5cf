"""Timer kinds are registered with one handler each (escalation/timers.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from escalation import chain, reports, timers
from escalation.timers import TimerKind


def test_every_kind_but_deliver_has_its_handler() -> None:
    assert timers.handler_for(TimerKind.step) is chain.run_step
    assert timers.handler_for(TimerKind.reack) is chain.run_reack
    assert timers.handler_for(TimerKind.deadline) is reports.run_deadline
    assert timers.handler_for(TimerKind.deliver) is None  # claimed in batches by delivery
    assert timers.handler_for("no_such_kind") is None
    assert timers.handler_for("step") is chain.run_step  # the column holds the plain code


def test_a_kind_has_only_one_handler() -> None:
    async def another(session: object, timer: object, now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match="already runs"):
        timers.handles(TimerKind.step)(another)  # type: ignore[arg-type]
    assert timers.handler_for(TimerKind.step) is chain.run_step


def test_kinds_and_states_are_the_stored_codes() -> None:
    assert [str(k) for k in TimerKind] == ["step", "reack", "deadline", "deliver"]
    assert TimerKind.step == "step" and timers.TimerState.cancelled == "cancelled"

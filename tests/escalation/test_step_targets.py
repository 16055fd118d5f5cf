"""Whom a policy step reaches: one handler per kind (escalation/chain.py STAFF_TARGETS)."""

from __future__ import annotations

from escalation import chain, config_import, configfile
from escalation.models import NOTIFY_KINDS, NotifyKind


def test_every_person_kind_has_one_handler_and_group_reaches_a_channel() -> None:
    assert set(chain.STAFF_TARGETS) == set(NotifyKind) - {NotifyKind.group}
    assert len(set(chain.STAFF_TARGETS.values())) == len(chain.STAFF_TARGETS)


def test_configuration_accepts_exactly_the_registered_kinds() -> None:
    assert config_import.NOTIFY_KINDS == NOTIFY_KINDS == ("on_duty", "role", "staff", "group")
    assert configfile._TARGET.fields["notify"].choices == frozenset(NOTIFY_KINDS)

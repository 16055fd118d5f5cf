"""Every package's plugin.py is a `triage/plugin_protocol.py:Plugin`, member for member and
type for type; a module that departs from it is caught, and the assembly refuses it."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from assembly import wiring
from triage.plugin_protocol import MEMBERS, conformance_problems


@pytest.mark.parametrize("name", wiring.PLUGINS)
def test_each_plugin_module_is_a_plugin(name: str) -> None:
    assert conformance_problems(importlib.import_module(name)) == []


def test_the_protocol_names_every_contribution() -> None:
    assert set(MEMBERS) == {
        "register_hooks",
        "nav_links",
        "console_scripts",
        "routers",
        "background_services",
        "startup_checks",
        "cli_commands",
        "load_demo",
    }


def _copy_of(name: str) -> types.ModuleType:
    original = importlib.import_module(name)
    copy = types.ModuleType(f"{name}_copy")
    copy.__dict__.update({k: v for k, v in vars(original).items() if not k.startswith("__")})
    return copy


def test_a_missing_member_is_caught() -> None:
    module = _copy_of("registers.plugin")
    del module.startup_checks
    assert conformance_problems(module) == ["registers.plugin_copy.startup_checks is missing"]


def test_an_untyped_member_is_caught() -> None:
    module = _copy_of("bot.plugin")

    def nav_links(staff):  # the departure under test: no types
        return []

    module.nav_links = nav_links
    [problem] = conformance_problems(module)
    assert problem.startswith("bot.plugin_copy.nav_links(staff) is not Plugin.nav_links")


def test_a_loosely_typed_member_is_caught() -> None:
    module = _copy_of("triage.plugin")

    def routers() -> list:  # the departure under test: a list of anything
        return []

    module.routers = routers
    assert len(conformance_problems(module)) == 1


def test_a_plain_function_for_an_async_member_is_caught() -> None:
    module = _copy_of("escalation.plugin")
    exec(  # the same signature, written without `async`
        "from __future__ import annotations\n"
        "def load_demo(session: AsyncSession, config: DemoConfig, password: str | None)"
        " -> list[DemoLogin]:\n    return []\n",
        vars(module),
    )
    assert conformance_problems(module) == ["escalation.plugin_copy.load_demo must be async"]


def test_the_assembly_refuses_a_plugin_that_departs(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _copy_of("registers.plugin")
    del module.console_scripts
    monkeypatch.setitem(sys.modules, "registers.plugin_broken", module)
    monkeypatch.setattr(wiring, "PLUGINS", (*wiring.PLUGINS, "registers.plugin_broken"))
    with pytest.raises(TypeError, match="console_scripts is missing"):
        wiring.routers()

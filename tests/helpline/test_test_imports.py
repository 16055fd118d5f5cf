"""Tests and benchmarks share helpers through tests/support/, not through conftest or tests.

A conftest.py holds fixtures; a test module's helpers are its own. What several modules need
lives in tests/support/ (or, until moved, a package's support module). The imports that still
reach into a conftest or another test module are listed below: the list may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpline.settings import PROJECT_ROOT

# (importing file, imported module) pairs left to move into tests/support/.
NOT_YET_MOVED = {
    ("tests/bot/test_calls.py", "tests.bot.conftest"),
    ("tests/bot/test_concurrency.py", "tests.bot.conftest"),
    ("tests/bot/test_receipt_browser.py", "tests.bot.test_form_browser"),
    ("tests/bot/test_replies_fit.py", "tests.bot.test_webform"),
    ("tests/bot/test_screening.py", "tests.bot.conftest"),
    ("tests/bot/test_telegram.py", "tests.bot.conftest"),
    ("tests/bot/test_webform.py", "tests.bot.conftest"),
    ("tests/bot/test_webhook.py", "tests.bot.conftest"),
    ("tests/escalation/test_ack_links.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_console_alerts.py", "tests.escalation.conftest"),
    ("tests/escalation/test_delivery_state_machine.py", "tests.escalation.conftest"),
    ("tests/escalation/test_end_to_end.py", "tests.escalation.conftest"),
    ("tests/escalation/test_fallback.py", "tests.escalation.conftest"),
    ("tests/escalation/test_faults.py", "tests.escalation.conftest"),
    ("tests/escalation/test_health.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_incident_pages.py", "tests.escalation.test_faults"),
    ("tests/escalation/test_live_key_rotation.py", "tests.escalation.conftest"),
    ("tests/escalation/test_live_key_rotation.py", "tests.helpline.test_key_rotation"),
    ("tests/escalation/test_notifier_down.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_notifiers.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_ownership_browser.py", "tests.triage.test_counsellor_day_browser"),
    ("tests/escalation/test_phone_alerts.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_reports_and_pages.py", "tests.escalation.conftest"),
    ("tests/escalation/test_reports_and_pages.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_rules_and_policies.py", "tests.escalation.conftest"),
    ("tests/escalation/test_rules_and_policies.py", "tests.escalation.test_end_to_end"),
    ("tests/escalation/test_startup_check.py", "tests.escalation.test_live_key_rotation"),
    ("tests/escalation/test_worker_crash.py", "tests.escalation.conftest"),
    ("tests/nlu/test_model.py", "tests.nlu.conftest"),
    ("tests/nlu/test_real_language.py", "tests.nlu.conftest"),
    ("tests/nlu/test_rules.py", "tests.nlu.conftest"),
    ("tests/registers/test_schedule.py", "tests.registers.test_console"),
    ("tests/security/test_audit_anchor.py", "tests.helpline.test_audit"),
    ("tests/security/test_formula_cells.py", "tests.registers.test_console"),
}


def _forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith("tests.") and (last == "conftest" or last.startswith("test_"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _offenders(folder: str) -> set[tuple[str, str]]:
    return {
        (path.relative_to(PROJECT_ROOT).as_posix(), module)
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for module in _imports(path)
        if _forbidden(module)
    }


def test_nothing_imports_the_root_conftest() -> None:
    found = {pair for pair in _offenders("tests") | _offenders("benchmarks")}
    assert {pair for pair in found if pair[1] == "tests.conftest"} == set()


def test_benchmarks_import_no_conftest_and_no_test_module() -> None:
    assert _offenders("benchmarks") == set()


def _benchmark_reaches_outside_support(module: str) -> bool:
    return (module == "tests" or module.startswith("tests.")) and not (
        module == "tests.support" or module.startswith("tests.support.")
    )


def test_benchmarks_import_from_tests_only_through_support() -> None:
    found = {
        (path.relative_to(PROJECT_ROOT).as_posix(), module)
        for path in sorted((PROJECT_ROOT / "benchmarks").rglob("*.py"))
        for module in _imports(path)
        if _benchmark_reaches_outside_support(module)
    }
    assert found == set()


def test_the_benchmark_rule_catches_a_reach_outside_support() -> None:
    # The rule above must be able to fail: these are the imports the benchmarks once had.
    assert _benchmark_reaches_outside_support("tests.bot.load")
    assert _benchmark_reaches_outside_support("tests.escalation.support")
    assert _benchmark_reaches_outside_support("tests.telegram_standin")
    assert _benchmark_reaches_outside_support("tests")
    assert not _benchmark_reaches_outside_support("tests.support.load")
    assert _benchmark_reaches_outside_support("tests.supporting")


def test_no_new_reach_into_a_conftest_or_a_test_module() -> None:
    assert _offenders("tests") - NOT_YET_MOVED == set()

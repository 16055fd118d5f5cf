"""Chinese user-facing strings live in data/, not in Python (issue 20).

Each package reads its words from `data/<package>/texts.yaml` (or its other data files) through
the one loader, helpline/datafiles.py (`data_text`, `data_words`), as the bot and console do.
The Chinese string literals still in Python modules outside tests/ are counted here; the count
may only go down. When you move strings to data/, lower CEILING to the new count.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpline.settings import PROJECT_ROOT

CEILING = 45
# Han characters, CJK punctuation and full-width forms.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SKIPPED = ("tests", ".venv", "var", "node_modules")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (documentation, not user-facing)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def chinese_literals(source: str) -> list[int]:
    """The line of every string literal (an f-string counts once) with Chinese in it."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
            if any(
                isinstance(part, ast.Constant) and CHINESE.search(str(part.value))
                for part in node.values
            ):
                lines.append(node.lineno)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and CHINESE.search(node.value)
        ):
            lines.append(node.lineno)
    return lines


def _modules() -> list[Path]:
    return [
        path
        for path in sorted(PROJECT_ROOT.rglob("*.py"))
        if path.relative_to(PROJECT_ROOT).parts[0] not in SKIPPED
        and not any(part.startswith(".") for part in path.relative_to(PROJECT_ROOT).parts)
    ]


def test_chinese_strings_in_python_only_go_down() -> None:
    counts = {
        path.relative_to(PROJECT_ROOT).as_posix(): len(
            chinese_literals(path.read_text(encoding="utf-8"))
        )
        for path in _modules()
    }
    total = sum(counts.values())
    worst = sorted(((n, p) for p, n in counts.items() if n), reverse=True)[:10]
    assert total <= CEILING, (
        f"{total} Chinese string literals in Python (ceiling {CEILING}): put the words in "
        f"data/<package>/texts.yaml and read them with helpline.datafiles.data_text. "
        f"Most: {worst}"
    )


def test_the_count_sees_strings_and_f_strings_but_not_docstrings() -> None:
    source = '''
"""模块说明。"""
def f(x):
    """函数说明。"""
    a = "只有区级管理员可以添加学校。"
    b = f"时限须在 1 到 {x} 分钟之间。"
    c = "plain ascii"
    return a, b, c
'''
    assert len(chinese_literals(source)) == 2

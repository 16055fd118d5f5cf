"""One vocabulary (helpline/vocabulary.py from data/vocabulary.yaml): codes, order, limits."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from helpline import vocabulary as v
from helpline.settings import PROJECT_ROOT
from nlu import labels

PACKAGES = ("helpline", "nlu", "triage", "escalation", "registers", "bot")


def test_the_codes_are_the_tables_in_their_order() -> None:
    tables = v.vocabulary()
    assert v.LABELS == tuple(tables["labels"]) and v.LABELS[-1] == v.GENERAL
    assert v.URGENCIES == tuple(tables["urgencies"]) == ("emergency", "high", "medium", "low")
    assert set(v.HARM_LABELS) == set(v.LABELS) - {v.GENERAL}
    assert v.CHILD_HARM == set(v.HARM_LABELS) - {"fraud"}
    assert (v.MESSAGE_CHARS, v.FORM_FIELD_CHARS) == (5000, 6000)


def test_nlu_names_the_same_sets() -> None:
    assert labels.LABELS is v.LABELS and labels.URGENCIES is v.URGENCIES
    assert labels.HARM_LABELS is v.HARM_LABELS and labels.urgency_rank is v.urgency_rank


@given(st.lists(st.sampled_from(("emergency", "high", "medium", "low")), min_size=1))
def test_most_urgent_has_the_smallest_rank(urgencies: list[str]) -> None:
    found = v.most_urgent(*urgencies)
    assert found in urgencies
    assert all(v.urgency_rank(found) <= v.urgency_rank(u) for u in urgencies)
    assert v.urgency_rank(found) == v.URGENCIES.index(found)


def test_no_package_spells_the_order_or_the_limit_again() -> None:
    """The urgency order and the message limit live in data/vocabulary.yaml only."""
    order = re.compile(r"""["']emergency["'],\s*["']high["'],\s*["']medium["']""")
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            if path.suffix not in {".py", ".html"}:
                continue
            text = path.read_text(encoding="utf-8")
            # (an audit batch size of 5000 rows is not a text limit)
            limit = [x for x in re.findall(r".*\b(?:5000|6000)\b.*", text) if "batch" not in x]
            if order.search(text) or limit:
                found.append(path.relative_to(PROJECT_ROOT).as_posix())
    assert found == []

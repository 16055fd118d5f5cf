"""The rule safety net: the crisis concept base (data/lexicons/crisis.yaml) combined into a
risk level 0-10, and the phrase rules of the other harm categories (data/lexicons/harm.yaml),
with negation, hyperbole and impersonal context handled. Every rule that fires is reported
by a readable id ("crisis.method:安眠药", "negation:我没想", "hyperbole:累死了") so a
counsellor sees why a message was flagged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpline.datafiles import load_yaml
from nlu.labels import URGENCIES, most_urgent

_CLAUSE_BREAK = re.compile(r"[，。！？,.!?;；\n~～…]")
# Ends of a sentence: a time word ("马上", "现在") counts towards an emergency only beside a
# crisis concept in the same sentence ("想死。马上要考试了" is not imminence).
_SENTENCE_BREAK = re.compile(r"[。！？!?\n]+")
Span = tuple[int, int]
# Characters allowed between a negation cue and the form it negates ("没想|过要|自杀").
_NEGATION_GAP = 3


def _compile(forms: list[str]) -> re.Pattern[str]:
    # Longer forms first so that "想自杀" wins over "自杀" at the same position.
    ordered = sorted(forms, key=len, reverse=True)
    return re.compile("|".join(f"(?:{form})" for form in ordered))


@dataclass(frozen=True)
class HarmRule:
    rule_id: str
    label: str | None  # None: only raises the urgency of a message with a harm label
    urgency: str
    pattern: re.Pattern[str]
    forms: tuple[str, ...] = ()
    # A word that names the harm (诈骗, 欺凌) rather than telling one: lessons, warnings
    # and news use it as often as victims do, so the pipeline weighs it with the classifier.
    topic: bool = False


@dataclass(frozen=True)
class RuleBook:
    """The compiled lexicons."""

    concepts: dict[str, re.Pattern[str]]
    concept_forms: dict[str, tuple[str, ...]]
    negation_cues: tuple[str, ...]
    negation_not_cues: tuple[str, ...]
    negation_window: int
    negation_breaks: tuple[str, ...]
    negated_forms: re.Pattern[str]
    hyperbole: re.Pattern[str]
    context: re.Pattern[str]
    risk_base: dict[str, int]
    # Concepts that count only beside another concept in the same sentence (time, now).
    same_sentence: frozenset[str]
    # concept -> harm labels whose rules silence it (联系不上 in a fraud report is the
    # scammer out of reach, not the child).
    yields_to: dict[str, frozenset[str]]
    risk_combos: tuple[tuple[frozenset[str], int], ...]
    label_at: int
    urgency_at: dict[str, int]
    harm_rules: tuple[HarmRule, ...]


@dataclass
class RuleResult:
    """What the rules found in one message."""

    risk_level: int = 0
    labels: set[str] = field(default_factory=set)
    urgency: str | None = None
    # Urgency that applies only when the message ends up with a harm label ("救命" alone
    # is not a case; "救命 他们在打我" is an emergency).
    urgency_if_harm: str | None = None
    rules: list[str] = field(default_factory=list)
    concepts: set[str] = field(default_factory=set)
    # label -> urgency of the topic words found (see HarmRule.topic)
    topic_labels: dict[str, str] = field(default_factory=dict)
    # harm labels whose rules matched, in any context
    harm_seen: set[str] = field(default_factory=set)
    hyperbole: bool = False
    negated: bool = False
    context: bool = False

    def fire(self, rule_id: str) -> None:
        if rule_id not in self.rules:
            self.rules.append(rule_id)

    def raise_urgency(self, urgency: str) -> None:
        self.urgency = _at_least(self.urgency, urgency)


def _at_least(current: str | None, urgency: str) -> str:
    return urgency if current is None else most_urgent(current, urgency)


def _parse_rulebook(crisis: dict[str, Any], harm: dict[str, Any]) -> RuleBook:
    negation = crisis["negation"]
    risk = crisis["risk"]
    harm_rules = tuple(
        HarmRule(
            rule_id=f"{spec['label']}.{spec['name']}" if spec.get("label") else spec["name"],
            label=spec.get("label"),
            urgency=spec["urgency"],
            pattern=_compile(spec["forms"]),
            forms=tuple(spec["forms"]),
            topic=bool(spec.get("topic", False)),
        )
        for spec in harm.get("rules") or []
    )
    for rule in harm_rules:
        if rule.urgency not in URGENCIES:
            raise ValueError(f"bad urgency in harm rule {rule.rule_id}: {rule.urgency}")
    return RuleBook(
        concepts={name: _compile(spec["forms"]) for name, spec in crisis["concepts"].items()},
        concept_forms={name: tuple(spec["forms"]) for name, spec in crisis["concepts"].items()},
        negation_cues=tuple(negation["cues"]),
        negation_not_cues=tuple(negation.get("not_cues") or ()),
        negation_window=int(negation.get("window", 6)),
        negation_breaks=tuple(negation.get("breaks") or ()),
        negated_forms=_compile(negation["forms"]),
        hyperbole=_compile(crisis["hyperbole"]["forms"]),
        context=_compile(crisis["context"]["forms"]),
        risk_base={k: int(v) for k, v in risk["base"].items()},
        same_sentence=frozenset(risk.get("same_sentence") or ()),
        yields_to={
            name: frozenset(spec.get("yields_to") or ())
            for name, spec in crisis["concepts"].items()
            if spec.get("yields_to")
        },
        risk_combos=tuple((frozenset(c["all"]), int(c["risk"])) for c in risk["combos"]),
        label_at=int(risk["label_at"]),
        urgency_at={k: int(v) for k, v in risk["urgency"].items()},
        harm_rules=harm_rules,
    )


@lru_cache(maxsize=4)
def load_rulebook(lexicon_dir: Path) -> RuleBook:
    """The compiled rules from a lexicon folder (crisis.yaml and harm.yaml)."""
    # Compiled once per folder (two files make one book); the files through the one reader.
    return _parse_rulebook(
        load_yaml(lexicon_dir / "crisis.yaml"), load_yaml(lexicon_dir / "harm.yaml")
    )


def _overlaps(span: Span, spans: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _negation(book: RuleBook, text: str, start: int) -> str | None:
    """The negating window before `start` in the same clause, if a negation cue is there."""
    window = text[max(0, start - book.negation_window) : start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    if breaks:
        window = window[breaks[-1].end() :]
    # A cue may run into the match itself ("我没|想自杀"): look at the window plus the
    # first characters of the match, but only at cues that start inside the window.
    probe = window + text[start : start + 3]
    for not_cue in book.negation_not_cues:
        probe = probe.replace(not_cue, "_" * len(not_cue))
    for cue in book.negation_cues:
        index = probe.find(cue)
        # The cue must start in the window and end close to the match: "我没想过要自杀"
        # is negated, "我不想去学校也不想活了" is not negated by its first "不想".
        if 0 <= index < len(window) and index + len(cue) >= len(window) - _NEGATION_GAP:
            between = window[index + len(cue) :]
            if any(word in between for word in book.negation_breaks):
                continue
            return (window + text[start : start + 3])[: index + len(cue)]
    return None


def _match_objects(
    book: RuleBook, pattern: re.Pattern[str], text: str, masked: list[Span], result: RuleResult
) -> list[re.Match[str]]:
    """The matches not inside a masked span and not negated."""
    found = []
    for match in pattern.finditer(text):
        if not match.group() or _overlaps(match.span(), masked):
            continue
        negated_by = _negation(book, text, match.start())
        if negated_by is not None:
            result.negated = True
            result.fire(f"negation:{negated_by}")
            continue
        found.append(match)
    return found


def _matches(
    book: RuleBook, pattern: re.Pattern[str], text: str, masked: list[Span], result: RuleResult
) -> list[str]:
    """Texts of the matches not inside a masked span and not negated."""
    return [m.group() for m in _match_objects(book, pattern, text, masked, result)]


def _sentence_of(text: str) -> list[int]:
    """The sentence number of every character of `text`."""
    numbers, sentence, last = [], 0, 0
    for match in _SENTENCE_BREAK.finditer(text):
        numbers.extend([sentence] * (match.end() - last))
        sentence, last = sentence + 1, match.end()
    numbers.extend([sentence] * (len(text) - last))
    return numbers


def _anchored(book: RuleBook, text: str, found: dict[str, list[re.Match[str]]]) -> set[str]:
    """The concepts that count for the risk level: a time or "now" word only in a sentence
    that also holds another concept."""
    sentence = _sentence_of(text)
    weighty = {
        sentence[m.start()]
        for concept, matches in found.items()
        if concept not in book.same_sentence
        for m in matches
    }
    return {
        concept
        for concept, matches in found.items()
        if concept not in book.same_sentence or any(sentence[m.start()] in weighty for m in matches)
    }


def _risk(book: RuleBook, concepts: set[str]) -> int:
    risk = max((book.risk_base.get(c, 0) for c in concepts), default=0)
    for needed, level in book.risk_combos:
        if needed <= concepts:
            risk = max(risk, level)
    return min(risk, 10)


def _masks(book: RuleBook, text: str, result: RuleResult) -> list[Span]:
    masked: list[Span] = []
    for match in book.hyperbole.finditer(text):
        masked.append(match.span())
        result.hyperbole = True
        result.fire(f"hyperbole:{match.group()}")
    for match in book.negated_forms.finditer(text):
        masked.append(match.span())
        result.negated = True
        result.fire(f"negation:{match.group()}")
    return masked


def _apply_crisis(
    book: RuleBook, text: str, masked: list[Span], result: RuleResult, harm_seen: set[str]
) -> None:
    found: dict[str, list[re.Match[str]]] = {}
    for concept, pattern in book.concepts.items():
        if book.yields_to.get(concept, frozenset()) & harm_seen:
            continue
        matches = _match_objects(book, pattern, text, masked, result)
        if matches:
            found[concept] = matches
            result.concepts.add(concept)
        for match in matches:
            result.fire(f"crisis.{concept}:{match.group()}")
    result.risk_level = _risk(book, _anchored(book, text, found))
    if result.risk_level:
        result.fire(f"crisis.risk:{result.risk_level}")
    if result.context:
        return  # impersonal context: report what was seen, let the classifier decide
    if result.risk_level >= book.label_at:
        result.labels.add("crisis")
    for urgency in URGENCIES:
        if urgency in book.urgency_at and result.risk_level >= book.urgency_at[urgency]:
            result.raise_urgency(urgency)
            break


def _apply_harm(book: RuleBook, text: str, masked: list[Span], result: RuleResult) -> None:
    for rule in book.harm_rules:
        surfaces = _matches(book, rule.pattern, text, masked, result)
        for surface in surfaces:
            result.fire(f"{rule.rule_id}:{surface}")
        if surfaces and rule.label:
            result.harm_seen.add(rule.label)
        if not surfaces or result.context:
            continue
        if rule.label is None:
            result.urgency_if_harm = _at_least(result.urgency_if_harm, rule.urgency)
        elif rule.topic:
            current = result.topic_labels.get(rule.label)
            result.topic_labels[rule.label] = _at_least(current, rule.urgency)
        else:
            result.labels.add(rule.label)
            result.raise_urgency(rule.urgency)


def apply_rules(book: RuleBook, text: str) -> RuleResult:
    """Run every rule on normalised text."""
    result = RuleResult()
    context = book.context.search(text)
    if context:
        result.context = True
        result.fire(f"context:{context.group()}")
    masked = _masks(book, text, result)
    # Harm rules first: a crisis concept may yield to a harm found in the same message.
    _apply_harm(book, text, masked, result)
    _apply_crisis(book, text, masked, result, result.harm_seen)
    return result

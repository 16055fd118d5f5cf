"""The analysis pipeline: normalise, score with a backend, apply the rule safety net, decide
labels and urgency, extract report elements and personal data, apply the statutory rules.
The same pipeline runs on top of every backend (nlu/backends.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from helpline.datafiles import load_yaml
from helpline.vocabulary import MESSAGE_CHARS
from nlu.analysis import Analysis
from nlu.backends import Backend, BackendUnavailable, split_scores
from nlu.elements import extract_elements, load_element_patterns
from nlu.junk import junk_reason, load_junk_rules
from nlu.labels import GENERAL, HARM_LABELS, URGENCIES, URGENCY_PREFIX, most_urgent, urgency_rank
from nlu.normalize import model_text, normalize
from nlu.paths import NluPaths, default_paths
from nlu.pii import find_pii, load_pii_rules
from nlu.rules import RuleResult, apply_rules, load_rulebook
from nlu.statutory import load_statutory_rules

# Messages longer than this are cut before analysis (a help-line message, not a book).
MAX_CHARS = MESSAGE_CHARS  # the longest message intake takes (helpline/vocabulary.py)


class ModelMissing(BackendUnavailable):
    """No trained spaCy model yet: run `helpline nlu train` (the service start trains)."""


@dataclass(frozen=True)
class Decision:
    """How scores become labels and urgency (data/nlu/config/decision.yaml + thresholds)."""

    thresholds: dict[str, float]
    default_threshold: float
    floors: dict[str, float]
    general_margin: float
    urgency_floor: dict[str, str]
    general_cap: str
    crisis_after_hyperbole: float
    short_max_chars: int = 0
    short_threshold: float = 1.0
    crisis_without_concept: float = 0.0
    topic_general_below: float = 1.01
    crisis_concept_min_risk: int = 1
    urgent_harm_urgency: float = 1.01
    urgent_harm_min_score: float = 1.0
    urgent_harm_emergency: float = 1.01
    label_margins: dict[str, float] = field(default_factory=dict)
    secondary: dict[str, float] = field(default_factory=dict)
    long_min_chars: int = 0  # 0: sentences are not scored on their own
    long_max_sentences: int = 0
    long_labels: tuple[str, ...] = ()

    def margin(self, label: str) -> float:
        return self.label_margins.get(label, self.general_margin)

    def threshold(self, key: str) -> float:
        tuned = self.thresholds.get(key, self.default_threshold)
        if key not in HARM_LABELS:
            return tuned  # floors are for category labels, not urgency keys
        return max(tuned, self.floors.get(key, self.floors.get("default", 0.0)))


def load_decision(paths: NluPaths, thresholds: dict[str, float] | None) -> Decision:
    raw = load_yaml(paths.config_dir / "decision.yaml")
    short = raw.get("short_message") or {}
    no_concept = raw.get("crisis_without_concept") or {}
    urgent = raw.get("urgent_harm") or {}
    long = raw.get("long_message") or {}
    # Missing sections switch the guards off (values no score can reach).
    return Decision(
        thresholds=dict(thresholds or {}),
        default_threshold=float(raw["thresholds"]["default"]),
        floors={k: float(v) for k, v in (raw["thresholds"].get("floor") or {}).items()},
        general_margin=float(raw.get("general_margin", 0.0)),
        urgency_floor=dict(raw.get("urgency_floor") or {}),
        general_cap=str(raw.get("general_urgency_cap", "medium")),
        crisis_after_hyperbole=float(raw.get("crisis_threshold_after_hyperbole", 0.9)),
        short_max_chars=int(short.get("max_chars", 0)),
        short_threshold=float(short.get("threshold", 1.0)),
        crisis_without_concept=float(no_concept.get("threshold", 0.0)),
        topic_general_below=float((raw.get("topic_word") or {}).get("general_below", 1.01)),
        crisis_concept_min_risk=int(no_concept.get("min_risk", 1)),
        urgent_harm_urgency=float(urgent.get("urgency", 1.01)),
        urgent_harm_min_score=float(urgent.get("min_score", 1.0)),
        urgent_harm_emergency=float(urgent.get("emergency", 1.01)),
        label_margins={k: float(v) for k, v in (raw.get("general_margin_by_label") or {}).items()},
        long_min_chars=int(long.get("min_chars", 0)),
        long_max_sentences=int(long.get("max_sentences", 0)),
        long_labels=tuple(long.get("labels") or ()),
        # The secondary scores were measured on the spaCy model's scale; a backend that ships
        # no tuned thresholds (Rasa's DIET) scores on another one (0.15 there cost 0.05 of
        # macro F1), so it keeps one threshold a label.
        secondary=(
            {k: float(v) for k, v in (raw.get("secondary_label") or {}).items()}
            if thresholds
            else {}
        ),
    )


def content_length(text: str) -> int:
    """Characters that carry content (letters, digits, CJK): punctuation, spaces and emoji
    do not make a reply longer."""
    return sum(1 for c in text if c.isalnum())


def is_brief(text: str, decision: Decision) -> bool:
    """A few characters: the classifier sees almost no features there, and its harm and
    urgency scores are mostly its biases."""
    return content_length(text) <= decision.short_max_chars


def is_short_without_evidence(brief: bool, rules: RuleResult) -> bool:
    """A brief reply ("不想说", "在操场", "班主任": answers to the bot's follow-up questions)
    on which no rule found harm."""
    return brief and not (rules.labels or rules.concepts or rules.topic_labels)


def _urgent_harm(
    categories: dict[str, float],
    urgency: dict[str, float],
    decision: Decision,
    excluded: set[str],
) -> str | None:
    """The most likely harm label when the classifier says the message is urgent (emergency
    plus high) but no harm label passed its threshold: the urgency keys are learnt from every
    harm message together, so they carry over to unseen wording better than one label.
    `excluded`: labels a guard (hyperbole, no crisis concept) has already explained away."""
    candidates = [lb for lb in HARM_LABELS if lb not in excluded]
    if not candidates:
        return None
    best = max(candidates, key=lambda lb: categories[lb])
    if urgency.get("emergency", 0.0) >= decision.urgent_harm_emergency:
        return best  # an emergency on its own is never "general"
    if urgency.get("emergency", 0.0) + urgency.get("high", 0.0) < decision.urgent_harm_urgency:
        return None
    return best if categories[best] >= decision.urgent_harm_min_score else None


def _labels(
    categories: dict[str, float],
    rules: RuleResult,
    decision: Decision,
    short: bool = False,
    urgency: dict[str, float] | None = None,
    brief: bool = False,
) -> list[str]:
    def bar(label: str) -> float:
        margin = decision.margin(label) * categories[GENERAL]
        if short:
            # Nearly featureless text: only a confident classifier may raise a label alone.
            margin = max(margin, decision.short_threshold)
        return max(decision.threshold(label), margin)

    chosen = {lb for lb in HARM_LABELS if categories[lb] >= bar(lb)}
    crisis = categories["crisis"]
    # No crisis concept of weight (wish to die, self-harm, farewell ...): everyday sadness and
    # tiredness push the crisis score up on real text, so the classifier alone needs more.
    no_concept = (
        rules.risk_level < decision.crisis_concept_min_risk
        and crisis < decision.crisis_without_concept
    )
    # Hyperbole ("累死了") or negation ("我没想死") explains the crisis words away unless the
    # classifier is very sure on its own.
    explained = (rules.hyperbole or rules.negated) and crisis < decision.crisis_after_hyperbole
    guarded = {"crisis"} if (no_concept or explained) and "crisis" not in rules.labels else set()
    chosen -= guarded
    if not chosen and not short and urgency:
        urgent = _urgent_harm(categories, urgency, decision, guarded)
        if urgent:
            chosen.add(urgent)
    chosen |= rules.labels
    chosen |= _topics(categories, rules, decision, brief)
    explained_away = guarded if explained else set()
    if not brief:
        # On a few characters every score is mostly the model's bias: "被骗了" scored crisis
        # 0.15 and became a crisis case.
        chosen |= _secondary(categories, decision, chosen, explained_away)
    return [lb for lb in HARM_LABELS if lb in chosen] or [GENERAL]


def _topics(
    categories: dict[str, float], rules: RuleResult, decision: Decision, brief: bool
) -> set[str]:
    """Labels of the words that name a harm (诈骗, 欺凌), unless the classifier reads the
    message as general: a lesson, a warning in a parents' group, a question about a word.
    A message that is little more than the word ("欺凌", "被诈骗") names the child's problem."""
    if not brief and categories.get(GENERAL, 0.0) >= decision.topic_general_below:
        return set()
    return set(rules.topic_labels)


def _secondary(
    categories: dict[str, float], decision: Decision, chosen: set[str], explained_away: set[str]
) -> set[str]:
    """Labels said in passing beside a harm already found (a wish to die at the end of a
    bullying story): once the message is a case, these need only their secondary score.
    Hyperbole or negation that explained a crisis away still holds."""
    if not chosen:
        return set()
    return {
        lb
        for lb, score in decision.secondary.items()
        if lb not in explained_away and categories.get(lb, 0.0) >= score
    }


def _model_urgency(urgency: dict[str, float], labels: list[str], decision: Decision) -> str:
    if not urgency:
        # A backend without urgency scores: harm means a responsible adult today.
        return "low" if labels == [GENERAL] else "high" if labels != ["fraud"] else "medium"
    if urgency.get("emergency", 0.0) >= decision.threshold(URGENCY_PREFIX + "emergency"):
        return "emergency"
    # Below emergency, the best-scored urgency (ties go to the more urgent).
    return max(URGENCIES[1:], key=lambda u: urgency.get(u, 0.0))


def _urgency(
    urgency_scores: dict[str, float],
    labels: list[str],
    rules: RuleResult,
    decision: Decision,
    short: bool = False,
) -> str:
    if short and labels == [GENERAL]:
        return "low"  # a short reply with no harm found is not urgent on its own
    urgency = _model_urgency(urgency_scores, labels, decision)
    if rules.urgency:
        urgency = most_urgent(urgency, rules.urgency)
    if rules.urgency_if_harm and labels != [GENERAL]:
        urgency = most_urgent(urgency, rules.urgency_if_harm)
    for label, topic_urgency in rules.topic_labels.items():
        if label in labels:
            urgency = most_urgent(urgency, topic_urgency)
    for label in labels:
        if label in decision.urgency_floor:
            urgency = most_urgent(urgency, decision.urgency_floor[label])
    if labels == [GENERAL] and urgency_rank(urgency) < urgency_rank(decision.general_cap):
        urgency = decision.general_cap
    return urgency


_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
_MIN_SENTENCE = 6  # content characters: shorter pieces are joined to the next one


def sentences(text: str, max_sentences: int) -> list[str]:
    """The sentences of a long message (pieces of at least a few characters), at most
    `max_sentences` of them (the last one takes the rest)."""
    pieces, current = [], ""
    for piece in _SENTENCE_END.split(text):
        current += piece
        if content_length(current) >= _MIN_SENTENCE:
            pieces.append(current.strip())
            current = ""
    if current.strip():
        if pieces:
            pieces[-1] += current
        else:
            pieces.append(current.strip())
    if max_sentences and len(pieces) > max_sentences:
        pieces = pieces[: max_sentences - 1] + ["".join(pieces[max_sentences - 1 :])]
    return pieces


def _sentence_labels(
    sentence_scores: list[dict[str, float]],
    sentence_rules: list[RuleResult],
    decision: Decision,
    whole: set[str],
) -> tuple[set[str], str | None]:
    """Labels a sentence earns on its own (same bars as a whole message), for the labels
    long messages are read sentence by sentence for, and the highest urgency of a sentence
    that adds a label the whole message lacks (the whole message's urgency scores read a
    long post of everyday news as low: a crisis found in one sentence was a crisis at low)."""
    found: set[str] = set()
    urgency: str | None = None
    for scores, rules in zip(sentence_scores, sentence_rules, strict=True):
        categories, urgency_scores = split_scores(scores)
        chosen = set(_labels(categories, rules, decision))
        if rules.risk_level < decision.crisis_concept_min_risk:
            # a sentence of everyday sadness scores crisis on its own far more often than
            # the whole post does: a sentence adds crisis only with a crisis concept in it
            # (2,000 ordinary Weibo posts: 39 flagged without, 54 with the classifier alone)
            chosen.discard("crisis")
        added = [lb for lb in HARM_LABELS if lb in chosen and lb in decision.long_labels]
        found |= set(added)
        if set(added) - whole:
            own = _urgency(urgency_scores, added, rules, decision)
            urgency = own if urgency is None else most_urgent(urgency, own)
    return found, urgency


class Pipeline:
    """Analyses messages with one backend; thread-safe for reading."""

    def __init__(
        self,
        backend: Backend,
        paths: NluPaths | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.backend = backend
        self.paths = paths or default_paths()
        own = getattr(backend, "thresholds", None)
        self.decision = load_decision(self.paths, thresholds or own)
        self.rulebook = load_rulebook(self.paths.lexicon_dir)
        self.element_patterns = load_element_patterns(self.paths.lexicon_dir)
        self.pii_rules = load_pii_rules(self.paths.lexicon_dir)
        self.statutory = load_statutory_rules(self.paths.data_dir / "rules" / "statutory.yaml")
        self.junk_rules = load_junk_rules(self.paths.data_dir)

    def analyze(self, text: str) -> Analysis:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        originals = [t[:MAX_CHARS] for t in texts]
        normalised = [normalize(t) for t in originals]
        # What the classifier and the rules read: abbreviations, pinyin, English and emoji
        # written out in Chinese (report elements are found on the normalised text).
        readable = [model_text(t) for t in originals]
        parts = [self._sentences(t) for t in readable]
        flat = [s for group in parts for s in group]
        predictions = self.backend.predict(readable + flat)
        whole, rest = predictions[: len(readable)], iter(predictions[len(readable) :])
        per_sentence = [[next(rest) for _ in group] for group in parts]
        analyses = [
            self._decide(orig, norm, read, scores, group, group_scores)
            for orig, norm, read, scores, group, group_scores in zip(
                originals, normalised, readable, whole, parts, per_sentence, strict=True
            )
        ]
        if self.rules_only:
            return [replace(analysis, rules_only=True) for analysis in analyses]
        return analyses

    @property
    def rules_only(self) -> bool:
        """No classifier yet (nlu/warmup.py): the rules decide alone."""
        return self.backend.name == "rules"

    def _sentences(self, text: str) -> list[str]:
        if not self.decision.long_labels or content_length(text) < self.decision.long_min_chars:
            return []
        found = sentences(text, self.decision.long_max_sentences)
        return found if len(found) > 1 else []

    def _decide(
        self,
        original: str,
        text: str,
        readable: str,
        scores: dict[str, float],
        parts: Sequence[str] = (),
        part_scores: Sequence[dict[str, float]] = (),
    ) -> Analysis:
        categories, urgency_scores = split_scores(scores)
        rules = apply_rules(self.rulebook, readable)
        junk = junk_reason(text, self.junk_rules)
        if junk and not (rules.labels or rules.concepts or rules.topic_labels):
            return self._junk(original, text, categories, rules, junk)
        brief = is_brief(text, self.decision)
        short = is_short_without_evidence(brief, rules)
        labels = _labels(categories, rules, self.decision, short, urgency_scores, brief)
        sentence_urgency = None
        if parts:
            part_rules = [apply_rules(self.rulebook, part) for part in parts]
            if rules.context:
                # a lesson or a news story: its sentences do not raise labels by rules either
                for part_rule in part_rules:
                    part_rule.labels.clear()
                    part_rule.topic_labels.clear()
                    part_rule.urgency = part_rule.urgency_if_harm = None
            extra, sentence_urgency = _sentence_labels(
                list(part_scores), part_rules, self.decision, set(labels)
            )
            if extra - set(labels):
                labels = [lb for lb in HARM_LABELS if lb in extra or lb in labels]
        urgency = _urgency(urgency_scores, labels, rules, self.decision, short)
        if sentence_urgency:
            urgency = most_urgent(urgency, sentence_urgency)
        assert urgency in URGENCIES
        return Analysis(
            labels=labels,
            urgency=urgency,
            scores=categories,
            mandatory_report=self.statutory.mandatory_report(labels, urgency),
            rules=rules.rules,
            elements=extract_elements(self.element_patterns, text),
            pii=find_pii(self.pii_rules, original),
            risk_level=rules.risk_level,
            restricted=self.statutory.is_restricted(labels),
        )

    def _junk(
        self,
        original: str,
        text: str,
        categories: dict[str, float],
        rules: RuleResult,
        reason: str,
    ) -> Analysis:
        """A message that says nothing yet (nlu/junk.py): general, low, never mandatory; the
        classifier's scores are kept for the record but decide nothing."""
        return Analysis(
            labels=[GENERAL],
            urgency="low",
            scores=categories,
            mandatory_report=False,
            rules=[*rules.rules, f"junk:{reason}"],
            elements=extract_elements(self.element_patterns, text),
            pii=find_pii(self.pii_rules, original),
            risk_level=0,
            restricted=False,
            junk=True,
        )


def _backend(name: str, paths: NluPaths, rasa_url: str | None, train_if_missing: bool) -> Any:
    if name == "rasa":
        from helpline.settings import get_settings
        from nlu.rasa_backend import RasaBackend  # imported lazily: optional backend

        return RasaBackend(rasa_url or get_settings().rasa_url)
    if name == "rules":  # no classifier: what the first start runs until the model is built
        from nlu.warmup import RulesOnlyBackend

        return RulesOnlyBackend()
    if name != "spacy":
        raise ValueError(f"unknown backend {name!r} (spacy, rasa or rules)")
    from nlu.spacy_backend import SpacyBackend

    if not (paths.spacy_model / "meta.json").exists():
        if not train_if_missing:
            raise ModelMissing(
                f"no trained NLU model in {paths.spacy_model}: run `helpline nlu train`"
            )
        from nlu.train import train_model

        train_model(paths)
    return SpacyBackend(paths.spacy_model, paths.userdict)


def load_pipeline(
    backend: str = "spacy",
    model_dir: Path | None = None,
    data_dir: Path | None = None,
    rasa_url: str | None = None,
    train_if_missing: bool = False,
) -> Pipeline:
    """A pipeline with the named backend; raises ModelMissing when no spaCy model is built."""
    paths = default_paths(model_dir=model_dir, data_dir=data_dir)
    return Pipeline(_backend(backend, paths, rasa_url, train_if_missing), paths)

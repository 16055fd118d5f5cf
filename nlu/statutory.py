"""The statutory reporting rules (data/rules/statutory.yaml), parsed once.

nlu answers two questions from them: is a mandatory report due for these labels and this
urgency, and is the case restricted (sexual abuse: only the assigned counsellor and the
safeguarding lead). The escalation package reuses `load_statutory_rules` for the reports,
authorities and deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpline.datafiles import load_yaml
from helpline.settings import get_settings


@dataclass(frozen=True)
class CategoryRule:
    name: str
    mandatory: bool
    restricted: bool
    reports: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class StatutoryRules:
    """The parsed file; `raw` keeps everything (authorities, reports, fast report elements)."""

    categories: dict[str, CategoryRule]
    major_incident_urgencies: tuple[str, ...]
    major_incident_categories: tuple[str, ...]
    major_incident_mandatory: bool
    raw: dict[str, Any] = field(repr=False)

    def is_major_incident(self, labels: list[str] | tuple[str, ...], urgency: str) -> bool:
        return urgency in self.major_incident_urgencies and any(
            label in self.major_incident_categories for label in labels
        )

    def mandatory_report(self, labels: list[str] | tuple[str, ...], urgency: str) -> bool:
        if any(self.categories[lb].mandatory for lb in labels if lb in self.categories):
            return True
        return self.major_incident_mandatory and self.is_major_incident(labels, urgency)

    def is_restricted(self, labels: list[str] | tuple[str, ...]) -> bool:
        return any(self.categories[lb].restricted for lb in labels if lb in self.categories)


def _parse(raw: dict[str, Any]) -> StatutoryRules:
    categories = {
        name: CategoryRule(
            name=name,
            mandatory=bool(spec.get("mandatory", False)),
            restricted=bool(spec.get("restricted", False)),
            reports=tuple(spec.get("reports") or ()),
            source=str(spec.get("source", "")),
        )
        for name, spec in (raw.get("categories") or {}).items()
    }
    major = raw.get("major_incident") or {}
    return StatutoryRules(
        categories=categories,
        major_incident_urgencies=tuple(major.get("when_urgency") or ()),
        major_incident_categories=tuple(major.get("categories") or ()),
        major_incident_mandatory=bool(major.get("mandatory", False)),
        raw=raw,
    )


def load_statutory_rules(path: str | Path | None = None) -> StatutoryRules:
    """The rules from `path`, by default data/rules/statutory.yaml of the settings."""
    resolved = Path(path) if path else get_settings().data_dir / "rules" / "statutory.yaml"
    return load_yaml(resolved, parse=_parse)


def mandatory_report(labels: list[str] | tuple[str, ...], urgency: str) -> bool:
    """Whether the statutory rules make a report mandatory (强制报告) for this analysis."""
    return load_statutory_rules().mandatory_report(labels, urgency)


def is_restricted(labels: list[str] | tuple[str, ...]) -> bool:
    """Whether access to the case must be restricted (sexual abuse)."""
    return load_statutory_rules().is_restricted(labels)

"""Reading a configuration file (the format of data/demo/config.yaml) before anything is loaded.

Every field is known: a misspelt or unknown field, a missing required one, a value of the
wrong type or a malformed file is refused with the file and the line (`ConfigFileError`),
so that a typo never silently leaves a school without its safeguarding lead. What the
entries mean together (who covers what, when) is checked by `escalation.coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from escalation.models import NOTIFY_KINDS
from escalation.roster import DAYS
from helpline.datafiles import data_words, section_text
from triage.models import Role
from triage.policy import URGENCY_ORDER

Where = tuple[str | int, ...]  # a path into the document: ("staff", 3, "org")


class ConfigFileError(ValueError):
    """The file cannot be read as a configuration: one line naming the file and the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class Spec:
    """What one value may be: a scalar kind, a list of `item`, or a mapping of `fields`."""

    kind: str  # str | int | bool | time | list | map
    required: bool = False
    choices: frozenset[str] | None = None
    item: Spec | None = None
    fields: dict[str, Spec] = field(default_factory=dict)


def _s(required: bool = False, choices: object = None) -> Spec:
    return Spec("str", required, frozenset(choices) if choices else None)  # type: ignore[arg-type]


def _map(**fields: Spec) -> Spec:
    return Spec("map", fields=fields)


def _list(item: Spec, required: bool = False) -> Spec:
    return Spec("list", required, item=item)


_LEVEL = ("school", "district")
_TARGET = _map(
    notify=_s(True, NOTIFY_KINDS),
    org=_s(False, _LEVEL),
    role=_s(False, {r.value for r in Role}),
    staff=_s(),
    group=_s(),
    wait_minutes=Spec("int"),
    all_channels=Spec("bool"),
)
# A step is one target written inline, or `targets: [...]`.
_STEP = Spec(
    "map",
    fields={
        **_TARGET.fields,
        "notify": _s(False, _TARGET.fields["notify"].choices),
        "targets": _list(_TARGET),
    },
)
# What each kind of target must name.
_TARGET_NEEDS = {"role": "role", "staff": "staff", "group": "group"}
# Person fields that hold a channel address (read by escalation.coverage.PERSON_CHANNELS).
_CHANNEL_FIELDS = {"email": _s(), "phone": _s(), "telegram_chat_id": _s()}

SCHEMA = _map(
    district=Spec("map", True, fields={"code": _s(True), "name": _s(True), "region": _s()}),
    schools=_list(
        _map(code=_s(True), name=_s(True), region=_s(), fallback=_s(False, ("district",)))
    ),
    staff=_list(
        _map(
            username=_s(True),
            display_name=_s(True),
            role=_s(True, {r.value for r in Role}),
            org=_s(True),
            active=Spec("bool"),
            **_CHANNEL_FIELDS,
        )
    ),
    duty_rosters=_list(
        _map(
            org=_s(True),
            shifts=_list(
                _map(
                    staff=_s(True),
                    days=_list(_s(True, (*DAYS, "holiday")), required=True),
                    start=Spec("time", True),
                    end=Spec("time", True),
                ),
                required=True,
            ),
        )
    ),
    escalation_policies=_list(
        _map(
            org=_s(True),
            name=_s(True),
            urgencies=_list(_s(True, URGENCY_ORDER), required=True),
            repeat=Spec("int"),
            reack_minutes=Spec("int"),
            steps=_list(_STEP, required=True),
        )
    ),
    alert_profiles=_list(_map(staff=_s(True), channels=_list(_s(True)), webhook=_s())),
    alert_channels=_list(
        _map(
            org=_s(True),
            name=_s(True),
            kind=_s(True, ("webhook", "wecom", "dingtalk")),
            url=_s(True),
            secret=_s(),
        )
    ),
)


@dataclass(frozen=True)
class ConfigFile:
    """The parsed document and the line (1-based) of every mapping and list item in it."""

    path: Path
    data: dict[str, Any]
    lines: dict[Where, int]

    def line(self, *where: str | int) -> int | None:
        return self.lines.get(tuple(where))

    def at(self, *where: str | int) -> str:
        """ "data/demo/config.yaml:27" for messages."""
        line = self.line(*where)
        return f"{self.path}:{line}" if line else str(self.path)


def read(path: Path) -> ConfigFile:
    """Parse and check the fields of a configuration file; ConfigFileError if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(path, None, _said("not_found")) from None
    except (OSError, UnicodeDecodeError) as exc:
        message = _said("unreadable", error=type(exc).__name__)
        raise ConfigFileError(path, None, message) from None
    return parse(text, path)


def parse(text: str, path: Path) -> ConfigFile:
    """Parse and check the text of a configuration file (`path` only names it in messages)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or _said("not_yaml")
        line = mark.line + 1 if mark else None
        raise ConfigFileError(path, line, _said("yaml_error", problem=problem)) from None
    if node is None:
        raise ConfigFileError(path, 1, _said("empty"))
    lines: dict[Where, int] = {}
    data = _walk(path, node, SCHEMA, (), lines)
    _check_steps(path, data, lines)
    return ConfigFile(path, data, lines)


def check_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """One escalation policy (as the console's editor builds it) checked field by field as an
    entry of a configuration file's escalation_policies is; ConfigFileError in the same words."""
    where = Path("escalation_policies")
    node = yaml.compose(yaml.safe_dump([policy], allow_unicode=True), Loader=yaml.SafeLoader)
    lines: dict[Where, int] = {}
    spec = SCHEMA.fields["escalation_policies"]
    data = {"escalation_policies": _walk(where, node, spec, ("escalation_policies",), lines)}
    _check_steps(where, data, {})
    return data["escalation_policies"][0]


def _check_steps(path: Path, data: dict[str, Any], lines: dict[Where, int]) -> None:
    for p, policy in enumerate(data.get("escalation_policies") or []):
        for s, step in enumerate(policy["steps"]):
            where = ("escalation_policies", p, "steps", s)
            if bool(step.get("notify")) == bool(step.get("targets")):
                message = _said("notify_or_targets", where=_name(where))
                raise ConfigFileError(path, lines.get(where), message)
            for t, target in enumerate(step.get("targets") or [step]):
                need = _TARGET_NEEDS.get(target["notify"])
                if need and not target.get(need):
                    at = (*where, "targets", t) if step.get("targets") else where
                    message = _said(
                        "target_needs", where=_name(at), notify=target["notify"], need=need
                    )
                    raise ConfigFileError(path, lines.get(at), message)


_said = section_text("escalation", "configfile")  # its messages, from data/escalation/texts.yaml


def _name(where: Where) -> str:
    return ".".join(str(part) for part in where) or _said("top")


def _walk(path: Path, node: yaml.Node, spec: Spec, where: Where, lines: dict[Where, int]) -> Any:
    line = node.start_mark.line + 1
    lines[where] = line
    if spec.kind == "map":
        if not isinstance(node, yaml.MappingNode):
            raise ConfigFileError(path, line, _said("not_a_map", where=_name(where)))
        found: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if key not in spec.fields:
                known = _said("separator").join(spec.fields)
                message = _said("unknown_field", key=key, where=_name(where), known=known)
                raise ConfigFileError(path, key_line, message)
            if key in found:
                raise ConfigFileError(path, key_line, _said("repeated_field", key=key))
            found[key] = _walk(path, value_node, spec.fields[key], (*where, key), lines)
        for name, sub in spec.fields.items():
            if sub.required and found.get(name) is None:
                message = _said("missing_field", where=_name(where), name=name)
                raise ConfigFileError(path, line, message)
        return found
    if spec.kind == "list":
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise ConfigFileError(path, line, _said("not_a_list", where=_name(where)))
        assert spec.item is not None
        return [
            _walk(path, item, spec.item, (*where, index), lines)
            for index, item in enumerate(node.value)
        ]
    return _scalar(path, node, spec, where, line)


def _scalar(path: Path, node: yaml.Node, spec: Spec, where: Where, line: int) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigFileError(path, line, _said("not_a_value", where=_name(where)))
    value = yaml.SafeLoader("").construct_object(node)  # type: ignore[no-untyped-call]
    if value is None and not spec.required:
        return None
    ok = {
        "str": isinstance(value, str | int) and not isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "bool": isinstance(value, bool),
        "time": isinstance(value, str) and is_time(value),
    }[spec.kind]
    if not ok:
        wanted = data_words("escalation", "configfile.kinds")[spec.kind]
        message = _said("wrong_kind", where=_name(where), wanted=wanted, value=node.value)
        raise ConfigFileError(path, line, message)
    if spec.kind == "str":
        value = str(value)
        if spec.choices is not None and value not in spec.choices:
            allowed = _said("separator").join(sorted(spec.choices))
            message = _said("not_a_choice", where=_name(where), value=value, allowed=allowed)
            raise ConfigFileError(path, line, message)
    return value


def is_time(value: str) -> bool:
    hours, sep, minutes = value.partition(":")
    if not (
        sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
    ):
        return False
    total = int(hours) * 60 + int(minutes)
    return int(minutes) < 60 and total <= 24 * 60

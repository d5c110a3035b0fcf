"""The API server's own rules: the CEL expressions of a CRD's `x-kubernetes-validations`.

kubeconform-style schema validation drops them, yet the API server enforces them on every create and
update (Kueue's ClusterQueue: "flavors must have the same number of resources as the coveredResources").
As the API server does, defaults from the schema are applied first, each rule is evaluated with `self`
bound to the value at its place in the schema (every item of a list, every value of a map), and a rule
that errors at run time (a missing field, a type mismatch) fails. Transition rules (those naming
`oldSelf`) apply to updates only and are counted, not run. A rule that uses a function this CEL library
lacks (Kubernetes' extension libraries: quantity, url, ip, ...) cannot be evaluated: it is reported.
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any


def _load_cel() -> ModuleType:
    """The compiled CEL evaluator. The `cel` package's __init__ also imports its command-line tool (typer, rich,
    prompt_toolkit: a fifth of a second); the evaluator alone is a Rust extension that needs none of it."""
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")  # finds the package without running its __init__
    folder = Path((spec.submodule_search_locations or [""])[0]) if spec else None
    found = sorted(folder.glob("cel.*.so")) + sorted(folder.glob("cel.*.pyd")) if folder else []
    if found:
        loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(found[0]))
        module_spec = importlib.util.spec_from_file_location("cel.cel", found[0], loader=loader)
        if module_spec is not None:
            module = importlib.util.module_from_spec(module_spec)
            loader.exec_module(module)
            return module
    import cel  # another layout: the package as published

    return cel


cel = _load_cel()

FieldPath = tuple[str | int, ...]
Schema = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    rule: str
    message: str
    message_expression: str
    field_path: str


@dataclass(frozen=True)
class Outcome:
    """One rule applied to one value: failed (with the message), or could not be evaluated (with why)."""

    path: FieldPath
    rule: Rule
    failed: bool
    message: str


@dataclass
class CelReport:
    evaluated: int = 0
    transition: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


@cache
def _program(expression: str) -> Any:
    return cel.compile(expression)


def _is_transition(rule: Rule) -> bool:
    try:
        return "oldSelf" in _program(rule.rule).references()["variables"]
    except Exception:  # noqa: BLE001 - an expression the library cannot parse is reported when evaluated
        return "oldSelf" in rule.rule


def _rules(schema: Schema) -> list[Rule]:
    return [Rule(str(r.get("rule", "")), str(r.get("message", "")), str(r.get("messageExpression", "")),
                 str(r.get("fieldPath", ""))) for r in schema.get("x-kubernetes-validations") or [] if r.get("rule")]


def apply_defaults(value: Any, schema: Schema) -> Any:
    """The value as the API server stores it: every absent property with a schema default filled in."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, child in properties.items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
        for name, child_value in value.items():
            if name in properties:
                apply_defaults(child_value, properties[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(child_value, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


def _places(value: Any, schema: Schema, path: FieldPath) -> Iterator[tuple[FieldPath, Any, Schema]]:
    """Every (path, value, schema) of the document where the schema carries rules."""
    if _rules(schema):
        yield path, value, schema
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, child_value in value.items():
            child = properties.get(name)
            if child is None and isinstance(schema.get("additionalProperties"), dict):
                child = schema["additionalProperties"]
            if child is not None:
                yield from _places(child_value, child, (*path, name))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _places(item, schema["items"], (*path, index))


def _message(rule: Rule, value: Any) -> str:
    if rule.message_expression:
        try:
            return str(_program(rule.message_expression).execute(cel.Context({"self": value})))
        except Exception:  # noqa: BLE001 - Kubernetes falls back to the message when the expression fails
            pass
    return rule.message or f"failed rule: {rule.rule}"


def _target(path: FieldPath, rule: Rule) -> FieldPath:
    """Where to report: the rule's place, or the field its fieldPath names under it (`.spec.foo`)."""
    extra = tuple(part for part in rule.field_path.split(".") if part) if rule.field_path.startswith(".") else ()
    return (*path, *extra)


def evaluate(document: dict[str, Any], schema: Schema) -> CelReport:
    """Run every rule of the schema on the document (a copy, with defaults applied)."""
    report = CelReport()
    stored = apply_defaults(copy.deepcopy(document), schema)
    for path, value, place in _places(stored, schema, ()):
        for rule in _rules(place):
            if _is_transition(rule):
                report.transition += 1
                continue
            report.evaluated += 1
            try:
                program = _program(rule.rule)
            except Exception as error:  # noqa: BLE001 - a rule the library cannot parse is reported, not skipped
                report.outcomes.append(Outcome(path, rule, False, f"cannot parse the rule {rule.rule!r}: {error}"))
                continue
            try:
                result = program.execute(cel.Context({"self": value}))
            except Exception as error:  # noqa: BLE001 - sorted below
                if "Undefined variable or function" in str(error):  # a Kubernetes extension this library lacks
                    report.outcomes.append(Outcome(path, rule, False, f"cannot evaluate the rule {rule.rule!r}: {error}"))
                else:  # the API server rejects an object whose rule errors at run time
                    report.outcomes.append(Outcome(_target(path, rule), rule, True,
                                                   f"{_message(rule, value)} (the rule errored: {type(error).__name__}: {error})"))
                continue
            if result is not True:
                report.outcomes.append(Outcome(_target(path, rule), rule, True, _message(rule, value)))
    return report

"""The mutations the parity tier judges (generator.sandbox.mutations), made from schemas with no box: smallest valid
values, a rule's place made to exist, the edits that break a CEL rule as validate evaluates it, one schema
violation per family and place."""

from __future__ import annotations

import copy
from typing import Any

from generator.checks.cel import evaluate
from generator.sandbox.mutations import (
    INVALID_STRING,
    UNKNOWN_FIELD,
    Edit,
    View,
    edited,
    materialize,
    minimal_object,
    rule_literals,
    rule_names,
    schema_mutations,
    schema_rules,
    search_rule,
    synthesize,
)
from generator.sandbox.parity import lost_fields

TOLERATION = {"type": "object", "properties": {
    "key": {"type": "string"}, "operator": {"type": "string"}, "value": {"type": "string"},
    "effect": {"type": "string", "enum": ["NoSchedule", "NoExecute"]}, "tolerationSeconds": {"type": "integer"}}}
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
    "spec": {"type": "object", "required": ["name", "size"], "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
        "size": {"x-kubernetes-int-or-string": True, "pattern": "^[0-9]+$"},
        "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Slow"},
        "sso": {"type": "object", "properties": {"provider": {"type": "string", "enum": ["dex", "keycloak"]}}},
        "oidc": {"type": "string"},
        "tolerations": {"type": "array", "items": TOLERATION, "x-kubernetes-validations": [
            {"rule": "self.all(x, has(x.tolerationSeconds) ? x.effect == 'NoExecute' : true)",
             "message": "effect must be 'NoExecute' when 'tolerationSeconds' is set"}]},
    }, "x-kubernetes-validations": [
        {"rule": "!(has(self.sso) && has(self.oidc))", "message": "sso and oidc cannot both be set"}]},
}}
DOCUMENT = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "a"},
            "spec": {"name": "abc", "size": "3", "tolerations": [{"key": "gpu", "effect": "NoSchedule"}]}}


def _verdict(document: dict[str, Any]) -> list[str]:
    """validate's CRD003 lines, as the parity tier reads them (the schema's errors aside)."""
    return [f"CRD003 x: {o.message} (CEL rule of the CRD example.com/v1 Thing: {o.rule.rule})"
            for o in evaluate(document, SCHEMA).outcomes if o.failed]


def test_the_smallest_value_fills_required_fields_with_what_their_schema_accepts() -> None:
    assert synthesize(View(SCHEMA["properties"]["spec"])) == {"name": "parity", "size": 1}  # int-or-string
    assert synthesize(View({"type": "string", "pattern": "^[0-9]+$"})) == "1"  # the first sample the pattern takes
    assert synthesize(View({"type": "string", "enum": ["B", "A"]})) == "B"
    assert synthesize(View({"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 3}})) == [3]
    minimal = minimal_object("example.com/v1", "Thing", View(SCHEMA), "ns")
    assert minimal == {"apiVersion": "example.com/v1", "kind": "Thing",
                       "metadata": {"name": "parity-minimal-thing", "namespace": "ns"},
                       "spec": {"name": "parity", "size": 1}}


def test_a_rule_place_is_made_in_a_document_that_lacks_it_and_the_document_is_left_alone() -> None:
    bare = {"spec": {"name": "abc", "size": "3"}}
    made = materialize(bare, View(SCHEMA), ("spec", "tolerations", "*"))
    assert made is not None and made["spec"]["tolerations"] == [{}] and "tolerations" not in bare["spec"]
    assert materialize(bare, View(SCHEMA), ("spec", "nothing")) is None


def test_the_fields_and_values_a_rule_names() -> None:
    rule = "self.all(x, !has(x.key) ? x.operator == 'Exists' : size(x.value) > 0)"
    assert rule_names(rule) == {"key", "operator", "value"}  # `all` is a macro, not a field
    assert rule_literals(rule) == ["Exists"]
    assert [place for place, _ in schema_rules(View(SCHEMA))] == [("spec",), ("spec", "tolerations")]


def test_a_rule_that_needs_two_fields_set_is_broken_by_a_pair_of_edits() -> None:
    place, rule = next((p, r) for p, r in schema_rules(View(SCHEMA)) if "sso" in r["rule"])
    found = search_rule("Thing", place, rule, View(SCHEMA), [("the document", DOCUMENT)], _verdict)
    assert found.breaking is not None and found.breaking.rule_message == "sso and oidc cannot both be set"
    assert {e.path for e in found.breaking.edits} == {("spec", "sso"), ("spec", "oidc")}
    assert _verdict(found.breaking.document) and not _verdict(DOCUMENT)
    assert found.cases[0].family == "baseline" and found.cases[0].document == DOCUMENT
    assert all(not _verdict(c.document) for c in found.cases)  # no single edit breaks it: each a neighbour both accept


def test_a_rule_on_a_list_is_broken_at_an_item_the_document_has() -> None:
    place, rule = next((p, r) for p, r in schema_rules(View(SCHEMA)) if "tolerationSeconds" in r["rule"])
    found = search_rule("Thing", place, rule, View(SCHEMA), [("the document", DOCUMENT)], _verdict)
    assert found.breaking is not None
    assert found.breaking.edits == (Edit(("spec", "tolerations", 0, "tolerationSeconds"), 1),)


def test_one_schema_violation_per_family_and_place() -> None:
    found = {(m.family, m.place): m.edit for m in schema_mutations(DOCUMENT, View(SCHEMA))}
    assert found[("wrong type", "spec.name")] == Edit(("spec", "name"), 7)
    assert found[("wrong type", "spec.size")] == Edit(("spec", "size"), True)  # int-or-string takes 7
    assert found[("unknown field", f"spec.{UNKNOWN_FIELD}")] == Edit(("spec", UNKNOWN_FIELD), "parity")
    assert found[("missing required field", "spec.name")] == Edit(("spec", "name"), delete=True)
    assert found[("invalid enum", "spec.tolerations[*].effect")].value == "ParityNotInEnum"
    assert found[("pattern", "spec.name")] == Edit(("spec", "name"), INVALID_STRING)
    assert ("wrong type", "apiVersion") not in found and ("wrong type", "metadata") not in found
    document = copy.deepcopy(DOCUMENT)
    assert edited(document, (found[("missing required field", "spec.name")],))["spec"] == {
        "size": "3", "tolerations": [{"key": "gpu", "effect": "NoSchedule"}]}
    assert document == DOCUMENT


def test_lost_fields_are_the_ones_dropped_or_changed() -> None:
    sent = {"spec": {"cohort": "a", "queue": "q", "list": [1, 2]}}
    assert lost_fields(sent, {"spec": {"queue": "q", "list": [1, 2], "defaulted": True}}) == ["spec.cohort"]
    assert lost_fields(sent, {"spec": {"cohort": "b", "queue": "q", "list": [1, 2]}}) == ["spec.cohort: 'a' -> 'b'"]

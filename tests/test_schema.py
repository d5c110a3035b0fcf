"""The editor schema: generated from the model, committed, with help for every field."""

from __future__ import annotations

import json

import jsonschema
import yaml

from conftest import DEMO, ROOT
from generator.model.schema import json_schema


def _properties(schema):
    yield "", schema
    yield from schema.get("$defs", {}).items()


def test_every_field_has_a_description_and_an_example() -> None:
    missing = [f"{owner or 'Portfolio'}.{field}"
               for owner, node in _properties(json_schema())
               for field, child in node.get("properties", {}).items()
               if not child.get("description") or not child.get("examples")]
    assert missing == []


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schemas" / "portfolio.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema()


def test_portfolio_names_the_schema_for_editors() -> None:
    first = DEMO.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=schemas/portfolio.schema.json"


def test_the_bundled_portfolio_satisfies_the_schema() -> None:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json_schema()).validate(data)


def test_the_schema_rejects_an_unknown_key() -> None:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["models"][0]["gpuz"] = 4
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(data))
    assert any("'gpuz' was unexpected" in e.message for e in errors)

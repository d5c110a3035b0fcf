"""The portfolio's JSON Schema for editors: every field with a description and an example."""

from __future__ import annotations

from typing import Any

from generator.model.portfolio import Portfolio


def _example(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """An example value for a schema node, composed from the examples of its fields."""
    if node.get("examples"):
        return node["examples"][0]
    if "$ref" in node:
        return _example(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    for choice in node.get("anyOf", []):
        if choice.get("type") != "null":
            return _example(choice, defs)
    if node.get("type") == "array" and "items" in node:
        return [_example(node["items"], defs)]
    if "properties" in node:
        return {key: _example(child, defs) for key, child in node["properties"].items()
                if key in node.get("required", []) or child.get("examples")}
    return node.get("default")


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use: every field carries a description and an example."""
    schema = Portfolio.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    for owner in [schema, *defs.values()]:
        for child in owner.get("properties", {}).values():
            if "examples" not in child:
                child["examples"] = [_example(child, defs)]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "GPU-as-a-Service model portfolio"
    return schema

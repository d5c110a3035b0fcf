"""Mutated documents for the parity of `validate` with the real API server, made from the schemas themselves.

Two kinds of schema are read the same way (`View`): a CRD version's openAPIV3Schema as written (types as strings,
`x-kubernetes-int-or-string`, `nullable`, CEL rules) and kubernetes-validate's strict JSON Schema of a core kind
(`$ref`s into `$defs`, types listed with "null"). From a document and its schema this module makes:

- `schema_mutations`: for every field of the document, once per place in the schema, a value of the wrong type, an
  unknown field beside it, a required field removed, a value outside its enum, a string its pattern refuses;
- `rule_edits`: the edits that may break one CEL rule: only fields the rule's own text names (or the rule's place),
  each removed, added (with each value its schema offers), set to each other enum value, or shortened or grown
  when it is a list; `materialize` first makes the rule's place exist in a document that lacks it, with the
  smallest values its schema accepts (`synthesize`).

Which edit actually breaks which rule is decided by the caller with the CEL evaluator `validate` uses; the API
server's verdict on the same documents is what the parity compares it with (generator.sandbox.parity).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

FieldPath = tuple[str | int, ...]
Schema = dict[str, Any]

UNKNOWN_FIELD = "parityUnknownField"
NOT_IN_ENUM = "ParityNotInEnum"
INVALID_STRING = "parity invalid!"
# Strings tried, in order, for a string field with no enum or default: the first its pattern and bounds accept.
_SAMPLES = ("parity", "a", "1", "parity-a", "example.com/parity", "1Gi", "2025-01-01T00:00:00Z", "A")
_FORMATS = {"date-time": "2025-01-01T00:00:00Z", "date": "2025-01-01", "uri": "https://example.com/parity",
            "byte": "cGFyaXR5", "duration": "1s", "int32": "1", "int64": "1"}
# CEL's macros and methods: after a dot they name no field.
_CEL_METHODS = {"all", "exists", "exists_one", "map", "filter", "size", "matches", "startsWith", "endsWith", "contains"}


@dataclass(frozen=True)
class Edit:
    """One change to a document: set a value (adding the field when absent), or delete a field."""

    path: FieldPath
    value: Any = None
    delete: bool = False

    def __str__(self) -> str:
        where = dotted(self.path)
        if self.delete:
            return f"- {where}"
        shown = repr(self.value) if not isinstance(self.value, (dict, list)) else _short(self.value)
        return f"{where} = {shown}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) or part == "*":  # an item, or any item
            out += f"[{part}]"
        else:
            out += f".{part}" if re.fullmatch(r"[A-Za-z_]\w*", part) else f"[{part!r}]"
    return out.lstrip(".")


def edited(document: Mapping[str, Any], edits: tuple[Edit, ...]) -> dict[str, Any]:
    """A copy of `document` with `edits` applied in order."""
    result = copy.deepcopy(dict(document))
    for edit in edits:
        parent: Any = result
        for part in edit.path[:-1]:
            parent = parent[part]
        last = edit.path[-1]
        if edit.delete:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(edit.value)
    return result


def value_at(document: Any, path: FieldPath) -> Any:
    for part in path:
        document = document[part]
    return document


class View:
    """A node of a schema, with `$ref`s followed: what a field may hold."""

    def __init__(self, node: Mapping[str, Any], defs: Mapping[str, Schema] | None = None) -> None:
        self.defs = defs or {}
        resolved = dict(node)
        while "$ref" in resolved:  # kubernetes-validate: {"$ref": "#/$defs/<name>", "description": ...}
            target = self.defs[str(resolved.pop("$ref")).rsplit("/", 1)[-1]]
            resolved = {**target, **resolved}
        self.node = resolved

    def _view(self, node: Any) -> View | None:
        return View(node, self.defs) if isinstance(node, dict) else None

    @property
    def types(self) -> frozenset[str]:
        """The JSON types the field accepts (null aside)."""
        node = self.node
        if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string":
            return frozenset({"string", "integer"})
        if "oneOf" in node or "anyOf" in node:
            found: set[str] = set()
            for option in node.get("oneOf") or node.get("anyOf") or []:
                sub = self._view(option)
                found |= set(sub.types) if sub else set()
            return frozenset(found)
        declared = node.get("type")
        names = {declared} if isinstance(declared, str) else set(declared or [])
        names.discard("null")
        if not names and ("properties" in node or "additionalProperties" in node):
            names = {"object"}
        return frozenset(names)

    @property
    def enum(self) -> list[Any]:
        return [v for v in self.node.get("enum") or [] if v is not None]

    @property
    def properties(self) -> dict[str, View]:
        return {k: View(v, self.defs) for k, v in (self.node.get("properties") or {}).items()}

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.node.get("required") or [])

    @property
    def items(self) -> View | None:
        return self._view(self.node.get("items"))

    @property
    def values(self) -> View | None:
        """The schema of a map's values (`additionalProperties`)."""
        return self._view(self.node.get("additionalProperties"))

    @property
    def closed(self) -> bool:
        """An object whose unknown fields are errors: it lists its properties and keeps no unknown field."""
        return ("properties" in self.node and not self.node.get("x-kubernetes-preserve-unknown-fields")
                and self.node.get("additionalProperties") in (None, False))

    @property
    def rules(self) -> list[dict[str, Any]]:
        return [r for r in self.node.get("x-kubernetes-validations") or [] if r.get("rule")]

    def child(self, key: str | int) -> View | None:
        if isinstance(key, int):
            return self.items
        found = self.properties.get(key)
        return found if found is not None else self.values


def _sample_string(view: View) -> str:
    node = view.node
    if node.get("format") in _FORMATS:
        return _FORMATS[str(node["format"])]
    low, high = int(node.get("minLength", 0)), int(node.get("maxLength", 1 << 20))
    for sample in _SAMPLES:
        if low <= len(sample) <= high and ("pattern" not in node or re.search(str(node["pattern"]), sample)):
            return sample
    return "a" * max(low, 1)


def synthesize(view: View, depth: int = 0) -> Any:
    """The smallest value the schema accepts: its default, its first enum value, or its required fields filled."""
    node = view.node
    if "default" in node:
        return copy.deepcopy(node["default"])
    if view.enum:
        return view.enum[0]
    types = view.types
    if "object" in types or (not types and view.properties):
        if depth > 12:
            return {}
        properties = view.properties
        return {name: synthesize(properties[name], depth + 1) for name in sorted(view.required) if name in properties}
    if "array" in types:
        items = view.items
        count = int(node.get("minItems", 0))
        return [synthesize(items, depth + 1) for _ in range(count)] if items is not None else []
    if "string" in types:
        sample = _sample_string(view)
        return int(sample) if "integer" in types and sample.isdigit() else sample
    if "integer" in types or "number" in types:
        return max(int(node.get("minimum", 1)), 1)
    if "boolean" in types:
        return True
    return {}


def variants(view: View) -> list[Any]:
    """Values worth trying where a field is absent: the smallest one, and for an object each enum value and each
    boolean of its own fields in turn (a rule often turns on one of them)."""
    found = [synthesize(view)]
    if view.enum:
        found = list(view.enum)
    elif "boolean" in view.types:
        found = [True, False]
    elif "object" in view.types:
        base = found[0]
        for name, child in sorted(view.properties.items()):
            for value in child.enum or ([True, False] if "boolean" in child.types else []):
                candidate = {**base, name: value}
                if candidate not in found:
                    found.append(candidate)
    return found


def materialize(document: dict[str, Any], root: View, place: tuple[str, ...]) -> dict[str, Any] | None:
    """A copy of `document` in which the schema place `place` exists (`*` an item of a list, `{}` a map's value):
    each missing field made with `synthesize`, a missing or empty list given one item, a missing map one entry.
    None when the place cannot be reached (the schema has no such field)."""
    result = copy.deepcopy(document)
    node: Any = result
    view: View | None = root
    for part in place:
        if view is None:
            return None
        if part == "*":
            view = view.items
            if view is None or not isinstance(node, list):
                return None
            if not node:
                node.append(synthesize(view))
            node = node[0]
        elif part == "{}":
            view = view.values
            if view is None or not isinstance(node, dict):
                return None
            if not node:
                node["parity"] = synthesize(view)
            node = node[next(iter(node))]
        else:
            child = view.properties.get(part)
            if child is None or not isinstance(node, dict):
                return None
            if part not in node:
                node[part] = synthesize(child)
            node, view = node[part], child
    return result


def concrete_paths(document: Any, place: tuple[str, ...], prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every path in `document` that the schema place `place` (with `*` and `{}`) stands for."""
    if not place:
        yield prefix
        return
    head, rest = place[0], place[1:]
    if head == "*" and isinstance(document, list):
        for index, item in enumerate(document):
            yield from concrete_paths(item, rest, (*prefix, index))
    elif head == "{}" and isinstance(document, dict):
        for key, item in document.items():
            yield from concrete_paths(item, rest, (*prefix, key))
    elif isinstance(document, dict) and head in document:
        yield from concrete_paths(document[head], rest, (*prefix, head))


def rule_names(rule: str) -> frozenset[str]:
    """The field names a CEL rule's text mentions (`self.spec.x` and `has(x.y)` alike)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", rule)
    return frozenset(re.findall(r"\.([A-Za-z_]\w*)", text)) - _CEL_METHODS


def _fields(value: Any, view: View, path: FieldPath, depth: int) -> Iterator[tuple[FieldPath, View, Any, bool, bool]]:
    """(path, schema, value, present, required) of every field under `value` down to `depth` levels, and every
    absent property of a present object."""
    if depth <= 0:
        return
    if isinstance(value, dict):
        properties = view.properties
        for name, child in sorted(properties.items()):
            present = name in value
            yield (*path, name), child, value.get(name), present, name in view.required
            if present:
                yield from _fields(value[name], child, (*path, name), depth - 1)
        values = view.values
        if values is not None and not properties:
            for key in sorted(value):
                yield (*path, key), values, value[key], True, False
                yield from _fields(value[key], values, (*path, key), depth - 1)
    elif isinstance(value, list) and view.items is not None:
        for index, item in enumerate(value):
            yield from _fields(item, view.items, (*path, index), depth - 1)


def rule_literals(rule: str) -> list[str]:
    """The string literals of a CEL rule (`x.operator == 'Exists'`): values worth giving the fields it names."""
    return list(dict.fromkeys(re.findall(r"'([^']*)'", rule)))


def _field_edits(path: FieldPath, view: View, value: Any, present: bool, required: bool,
                 literals: list[str]) -> list[Edit]:
    strings = [v for v in literals if v != value] if "string" in view.types and not view.enum else []
    if not present:
        return [Edit(path, v) for v in [*variants(view), *strings]]
    edits = [] if required else [Edit(path, delete=True)]
    types = view.types
    if view.enum:
        edits += [Edit(path, v) for v in view.enum if v != value]
    elif isinstance(value, bool):
        edits.append(Edit(path, not value))
    elif isinstance(value, str):
        edits += [Edit(path, v) for v in [*strings, INVALID_STRING]]
    elif isinstance(value, list):
        if value:
            edits.append(Edit(path, value[:-1]))
        if view.items is not None:
            edits.append(Edit(path, [*value, synthesize(view.items)]))
    elif isinstance(value, dict) and "object" in types and view.values is not None and not view.properties and value:
        edits.append(Edit(path, {}))
    return edits


def rule_edits(document: dict[str, Any], root: View, place: FieldPath, rule: str, depth: int = 8) -> list[Edit]:
    """Single edits under `place` that may break `rule`: on the fields its text names, or on the place itself."""
    names, literals = rule_names(rule), rule_literals(rule)
    view = root
    for part in place:
        child = view.child(part)
        if child is None:
            return []
        view = child
    value = value_at(document, place)
    edits = []
    if place:
        parent = root
        for part in place[:-1]:
            parent = parent.child(part) or parent
        required = isinstance(place[-1], str) and place[-1] in parent.required
        edits += _field_edits(place, view, value, True, required, literals)
    for path, child, item, present, required in _fields(value, view, place, depth):
        if isinstance(path[-1], str) and path[-1] in names:
            edits += _field_edits(path, child, item, present, required, literals)
    return edits


# The families of `schema_mutations`: each breaks the schema at one field, which a refusal should name.
SCHEMA_FAMILIES = ("wrong type", "unknown field", "missing required field", "invalid enum", "pattern", "out of bounds",
                   "duplicate item")


@dataclass(frozen=True)
class SchemaMutation:
    """A document with one schema violation (or, for `required` of a field the API server defaults, maybe none)."""

    family: str  # one of SCHEMA_FAMILIES ("duplicate item": in a list the API server keeps as a set or a map)
    path: FieldPath
    place: str  # the path with list indexes as `*`: one mutation per family and place
    edit: Edit


def _place(path: FieldPath) -> str:
    return dotted(tuple("*" if isinstance(p, int) else p for p in path))


def _wrong_value(types: frozenset[str]) -> Any:
    """A value of a JSON type the field does not accept."""
    for value, kind in ((7, "integer"), ("parity", "string"), (True, "boolean"), ({"parity": 1}, "object"),
                        (["parity"], "array")):
        if kind not in types and not (kind == "integer" and "number" in types):
            return value
    return None


def _out_of_bounds(view: View, value: Any) -> Any:
    """A value just past the field's bounds (minimum, maxLength, maxItems), or None when it has none."""
    node = view.node
    if isinstance(value, int) and not isinstance(value, bool) and "minimum" in node:
        return int(node["minimum"]) - 1
    if isinstance(value, int) and not isinstance(value, bool) and "maximum" in node:
        return int(node["maximum"]) + 1
    if isinstance(value, str) and "maxLength" in node:
        return "a" * (int(node["maxLength"]) + 1)
    if isinstance(value, list) and value and "maxItems" in node:
        return [copy.deepcopy(value[0]) for _ in range(int(node["maxItems"]) + 1)]
    return None


def schema_mutations(document: dict[str, Any], root: View, *, skip: tuple[str, ...] = ("apiVersion", "kind"),
                     under_metadata: bool = True) -> Iterator[SchemaMutation]:
    """One mutation per family and schema place of the fields the document has."""
    seen: set[tuple[str, str]] = set()

    def once(family: str, path: FieldPath, edit: Edit) -> Iterator[SchemaMutation]:
        key = (family, _place(path))
        if key not in seen:
            seen.add(key)
            yield SchemaMutation(family, path, key[1], edit)

    def walk(value: Any, view: View, path: FieldPath) -> Iterator[SchemaMutation]:
        if path and isinstance(path[-1], str) and len(path) == 1 and path[-1] in skip:
            return
        if not under_metadata and path[:1] == ("metadata",):
            return
        types = view.types
        wrong = _wrong_value(types) if types else None
        if path and wrong is not None and path != ("metadata",):  # validate names a document by its metadata
            yield from once("wrong type", path, Edit(path, wrong))
        if isinstance(value, str) and view.enum:
            yield from once("invalid enum", path, Edit(path, NOT_IN_ENUM))
        if isinstance(value, str) and "pattern" in view.node and not re.search(str(view.node["pattern"]), INVALID_STRING):
            yield from once("pattern", path, Edit(path, INVALID_STRING))
        beyond = _out_of_bounds(view, value)
        if path and beyond is not None:
            yield from once("out of bounds", path, Edit(path, beyond))
        if isinstance(value, list) and value and view.node.get("x-kubernetes-list-type") in ("set", "map"):
            yield from once("duplicate item", path, Edit(path, [*value, copy.deepcopy(value[0])]))
        if isinstance(value, dict):
            if view.closed:
                yield from once("unknown field", (*path, UNKNOWN_FIELD), Edit((*path, UNKNOWN_FIELD), "parity"))
            for name in sorted(view.required):
                if name in value and not (not path and name in skip):
                    yield from once("missing required field", (*path, name), Edit((*path, name), delete=True))
            properties = view.properties
            for name in sorted(value):
                child = properties.get(name) or view.values
                if child is not None:
                    yield from walk(value[name], child, (*path, name))
        elif isinstance(value, list) and view.items is not None:
            for index, item in enumerate(value):
                yield from walk(item, view.items, (*path, index))

    yield from walk(document, root, ())


def schema_rules(root: View, place: tuple[str, ...] = (), depth: int = 40) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(place, rule) of every CEL rule in a CRD schema, the place with `*` for a list's item and `{}` for a map's value."""
    if depth <= 0:
        return
    for rule in root.rules:
        yield place, rule
    for name, child in sorted(root.properties.items()):
        yield from schema_rules(child, (*place, name), depth - 1)
    if root.items is not None:
        yield from schema_rules(root.items, (*place, "*"), depth - 1)
    if root.values is not None:
        yield from schema_rules(root.values, (*place, "{}"), depth - 1)


# --- cases: documents to judge ----------------------------------------------------------------------------------------

Verdict = Callable[[dict[str, Any]], list[str]]  # validate's problems with a document, as "RULE path: message"
Seed = tuple[str, dict[str, Any]]  # (where it comes from, the document)


@dataclass(frozen=True)
class Case:
    """One document to judge. `expect` names the legitimate difference it is known to show (generator.sandbox.parity
    DIFFERENCES) and `because` the words the refusing side gives; a case with no `expect` must be agreed on."""

    family: str  # "baseline", "CEL rule", "rule neighbour", "wrong type", ..., "beyond the schemas", "update"
    target: str  # the CEL rule, or the schema place the mutation touches
    seed: str  # the document it was made from, e.g. "demo: ClusterQueue rhoai-main-queue"
    document: dict[str, Any]
    edits: tuple[Edit, ...] = ()
    rule_message: str | None = None  # a CEL rule's case: the API server must refuse it with this message
    before: dict[str, Any] | None = None  # an update's case: the object created first
    expect: str | None = None
    because: str = ""

    @property
    def kind(self) -> str:
        return str(self.document.get("kind"))

    def describe(self) -> str:
        edits = "; ".join(map(str, self.edits)) or "unmutated"
        return f"{self.kind} {self.family} [{self.target}] on {self.seed}: {edits}"


def minimal_object(api_version: str, kind: str, root: View, namespace: str | None) -> dict[str, Any]:
    """The smallest object of a kind its schema accepts: its required fields, and a spec if it has one."""
    meta: dict[str, Any] = {"name": f"parity-minimal-{kind.lower()}"}
    if namespace:
        meta["namespace"] = namespace
    document: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    for name, child in root.properties.items():
        if name == "spec" or (name in root.required and name not in document):
            document[name] = synthesize(child)
    return document


def _breaks(verdict: list[str], rule: str) -> str | None:
    """validate's CRD003 line for `rule`, if it reports one."""
    return next((line for line in verdict if line.startswith("CRD003") and line.endswith(f": {rule})")), None)


def _rank(verdict: list[str], rule: str, edits: tuple[Edit, ...]) -> tuple[bool, int, int]:
    """Better first: the rule false rather than erroring, no other problem, fewer edits."""
    line = _breaks(verdict, rule) or ""
    return ("(the rule errored" in line, len(verdict) - 1, len(edits))


@dataclass
class RuleSearch:
    """The cases made for one CEL rule: the document it starts from and every single edit tried (both verdicts of
    each are compared), and the case chosen to break the rule (None when no edit found breaks it)."""

    kind: str
    place: str  # the rule's place in the schema, `*` for a list's items ("" for the root)
    rule: dict[str, Any]
    cases: list[Case] = field(default_factory=list)
    breaking: Case | None = None

    @property
    def text(self) -> str:
        return str(self.rule["rule"])


def search_rule(kind: str, place: tuple[str, ...], rule: dict[str, Any], root: View, seeds: list[Seed],
                verdict: Verdict, *, pairs: int = 4000) -> RuleSearch:
    """A document validate says breaks `rule`: from each seed in turn (those that have the rule's place first, then
    the others with the place made), the single edits `rule_edits` proposes, then pairs of them when no single one
    breaks the rule except by an error."""
    text = str(rule["rule"])
    found = RuleSearch(kind, ".".join(place), rule)
    message = str(rule.get("message") or "") or None
    ordered = sorted(seeds, key=lambda s: not any(True for _ in concrete_paths(s[1], place)))
    for label, seed in ordered:
        document = materialize(seed, root, place)
        if document is None or _breaks(verdict(document), text):
            continue
        for path in concrete_paths(document, place):
            singles = rule_edits(document, root, path, text)
            tried: list[tuple[tuple[Edit, ...], dict[str, Any]]] = [((edit,), edited(document, (edit,))) for edit in singles]
            breaking = [(_rank(v, text, e), e, d) for e, d in tried if _breaks(v := verdict(d), text)]
            if not breaking or min(b[0] for b in breaking)[0]:  # none, or only by an error: pairs too
                combined = [(a, b) for i, a in enumerate(singles) for b in singles[i + 1:]
                            if a.path[:len(b.path)] != b.path and b.path[:len(a.path)] != a.path][:pairs]
                for pair in combined:
                    edits = tuple(pair)
                    mutated = edited(document, edits)
                    if _breaks(v := verdict(mutated), text):
                        breaking.append((_rank(v, text, edits), edits, mutated))
            if not breaking:
                continue
            _, edits, mutated = min(breaking, key=lambda b: b[0])
            found.breaking = Case("CEL rule", text, label, mutated, edits, rule_message=message)
            found.cases = [Case("baseline", text, label, document),
                           *(Case("rule neighbour", text, label, d, e) for e, d in tried if e != edits)]
            return found
    return found


def schema_cases(seeds: list[Seed], root: View, *, metadata: View | None = None, skip_metadata: bool = False) -> list[Case]:
    """The mutations of `schema_mutations` for the documents of one kind, one per family and place across them.
    `metadata`: the schema to mutate `metadata` with instead of the document's own (ObjectMeta, for a custom
    resource whose CRD leaves it open); `skip_metadata` leaves it out."""
    seen: set[tuple[str, str]] = set()
    cases = []
    for label, seed in seeds:
        found: list[SchemaMutation] = []
        for mutation in schema_mutations(seed, root, under_metadata=not skip_metadata and metadata is None):
            found.append(mutation)
        if metadata is not None and isinstance(seed.get("metadata"), dict):
            for mutation in schema_mutations(seed["metadata"], metadata, skip=()):
                path = ("metadata", *mutation.path)
                edit = Edit(("metadata", *mutation.edit.path), mutation.edit.value, mutation.edit.delete)
                found.append(SchemaMutation(mutation.family, path, "metadata." + mutation.place, edit))
        for mutation in found:
            if (mutation.family, mutation.place) not in seen:
                seen.add((mutation.family, mutation.place))
                cases.append(Case(mutation.family, mutation.place, label, edited(seed, (mutation.edit,)), (mutation.edit,)))
    return cases

"""Custom resources checked against CRD schemas read from --crd-dir.

CRD YAML (as `oc get crd -o yaml` prints it: one or several per file, or a List) is converted to
JSON Schema the way kubeconform's openapi2jsonschema does: int-or-string becomes string-or-integer,
`nullable` adds null, `x-kubernetes-preserve-unknown-fields` keeps an object open, and every other
object with properties is closed (`additionalProperties: false`), so a misspelled field is an error.
The CEL rules that the conversion drops are evaluated separately (`generator.checks.cel`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import referencing.exceptions
import yaml

from generator.diagnostics import Diagnostic, format_path
from generator.errors import DiagnosticsError, UsageError

if TYPE_CHECKING:
    from generator.checks.cel import CelReport

Schema = dict[str, Any]
# The upstream CRDs are megabytes of YAML; libyaml reads them ten times faster when present.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CrdVersion:
    group: str
    version: str
    kind: str
    schema: Schema | None
    source: str
    openapi: Schema | None = None  # as written, with its CEL rules and defaults


def to_json_schema(openapi: Schema) -> Schema:
    """Convert one openAPIV3Schema node (recursively) to strict JSON Schema."""
    node = {k: v for k, v in openapi.items() if not k.startswith("x-kubernetes-validations")}
    if node.pop("x-kubernetes-int-or-string", False) or node.get("format") == "int-or-string":
        node.pop("type", None)
        node.pop("format", None)
        node["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
        elif "oneOf" in node:
            node["oneOf"] = [*node["oneOf"], {"type": "null"}]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node:
        node["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
        if not preserve and "additionalProperties" not in node:
            node["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = to_json_schema(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        node["items"] = to_json_schema(node["items"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in node:
            node[combinator] = [to_json_schema(s) if isinstance(s, dict) else s for s in node[combinator]]
    if "not" in node and isinstance(node["not"], dict):
        node["not"] = to_json_schema(node["not"])
    return node


def _crd_documents(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
    except (yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError) as error:
        raise UsageError(f"{path}: not readable CRD YAML: {error}") from error
    found: list[dict[str, Any]] = []
    for doc in loaded:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "List":
            found += [item for item in doc.get("items") or [] if isinstance(item, dict)]
        else:
            found.append(doc)
    return [d for d in found if d.get("kind") == "CustomResourceDefinition"]


def crd_versions(crd: dict[str, Any], source: str) -> list[CrdVersion]:
    spec = crd.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("group"), str) or not isinstance(spec.get("names"), dict) \
            or not isinstance(spec["names"].get("kind"), str) or not isinstance(spec.get("versions"), list):
        raise ValueError("a CRD needs spec.group, spec.names.kind and a list spec.versions")
    group, kind = spec["group"], spec["names"]["kind"]
    versions = []
    for entry in spec["versions"]:
        if not entry.get("served", True):
            continue
        openapi = ((entry.get("schema") or {}).get("openAPIV3Schema")) or (spec.get("validation") or {}).get("openAPIV3Schema")
        schema = to_json_schema(openapi) if openapi else None  # builds new nodes: the CRD itself stays as written
        versions.append(CrdVersion(group, entry["name"], kind, schema, source, openapi))
    return versions


# Bump when the conversion or the cache layout changes: entries of an older one are then ignored.
CONVERSION = "3"


def _references(node: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every `$ref` in a CRD's schema: a CustomResourceDefinition may hold none (the API server refuses the CRD), and the
    converted schema could not follow one: the reference points nowhere."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(((*path, key), str(value)))
            else:
                found += _references(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _references(value, (*path, index))
    return found


def _reference_problem(path: Path, data: bytes, version: CrdVersion, where: tuple[str | int, ...], target: str) -> Diagnostic:
    line, column = _position_of_reference(data, target)
    return Diagnostic(str(path), line, column, "CRD005", format_path(("openAPIV3Schema", *where)),
                      f"{version.kind} {version.group}/{version.version}: $ref {target!r} in a CRD schema: the API server "
                      "refuses a CustomResourceDefinition with $ref, and this one cannot be checked against; use the CRD as "
                      "the cluster serves it (oc get crd NAME -o yaml)")


def _position_of_reference(data: bytes, target: str) -> tuple[int, int]:
    """Line and column of the `$ref` naming `target` in the CRD file (read again with positions, only on this path)."""
    try:
        for document in yaml.compose_all(data.decode("utf-8"), Loader=_LOADER):
            stack = [document]
            while stack:
                node = stack.pop()
                if isinstance(node, yaml.MappingNode):
                    for key, value in node.value:
                        if key.value == "$ref" and getattr(value, "value", None) == target:
                            return key.start_mark.line + 1, key.start_mark.column + 1
                        stack.append(value)
                elif isinstance(node, yaml.SequenceNode):
                    stack.extend(node.value)
    except (yaml.YAMLError, UnicodeDecodeError):
        pass
    return 1, 1

Loader = Callable[[], CrdVersion]


def _list_type(validator: Any, list_type: Any, instance: Any, schema: Schema) -> Any:
    """`x-kubernetes-list-type`, as the API server holds it: a `set` repeats no item, a `map` has no two items with the
    same values of its `x-kubernetes-list-map-keys` (a key a schema defaults counts with its default)."""
    if not isinstance(instance, list):
        return
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                yield jsonschema.ValidationError(f"{item!r} is repeated: the API server keeps this list as a set",
                                                 path=[index])
            seen.append(item)
    elif list_type == "map":
        keys = list(schema.get("x-kubernetes-list-map-keys") or [])
        properties = (schema.get("items") or {}).get("properties") or {}
        found: dict[tuple[Any, ...], int] = {}
        for index, item in enumerate(instance):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k, (properties.get(k) or {}).get("default")) for k in keys)
            if key in found:
                named = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
                yield jsonschema.ValidationError(f"items {found[key]} and {index} have the same {named}: the API server "
                                                 "keeps this list as a map by those keys", path=[index])
            found.setdefault(key, index)


# JSON Schema (2020-12) with the list types of Kubernetes' structural schemas; for core kinds and CRDs alike.
KubernetesValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"x-kubernetes-list-type": _list_type})


def cache_dir() -> Path:
    """Where converted CRDs are kept between runs: $GPUAAS_GENERATOR_CACHE, else the user's cache directory."""
    explicit = os.environ.get("GPUAAS_GENERATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gpuaas-generator" / "crds"


def _write_atomically(path: Path, content: Any) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".crd-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(content, out)
    os.replace(temporary, path)


def _ready(version: CrdVersion) -> Loader:
    return lambda: version


def _cached(stored_at: Path, source: Path, version: dict[str, str]) -> Loader:
    def load() -> CrdVersion:
        stored = json.loads(stored_at.read_bytes())
        return CrdVersion(version["group"], version["version"], version["kind"], stored["schema"], str(source),
                          stored["openapi"])
    return load


def file_versions(path: Path) -> dict[tuple[str, str], Loader]:
    """(apiVersion, kind) -> the served version's schemas, for one CRD file. Each distinct content is converted
    once: megabytes of YAML are parsed on the first run; later runs read a small index, and the schema of a kind
    only when a document of that kind is checked."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: not readable: {error}") from error
    stem = f"{hashlib.sha256(data).hexdigest()}-{CONVERSION}"
    index = cache_dir() / f"{stem}.json"
    try:
        entries = json.loads(index.read_bytes())
        return {(f"{e['group']}/{e['version']}", e["kind"]): _cached(index.parent / e["file"], path, e) for e in entries}
    except (OSError, ValueError, TypeError, KeyError):
        pass  # not cached yet, or unreadable: convert
    versions: list[CrdVersion] = []
    for crd in _crd_documents(path):
        try:
            versions += crd_versions(crd, str(path))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{path}: not a CustomResourceDefinition of the expected shape "
                             f"({type(error).__name__}: {error})") from error
    references = [(version, where, target) for version in versions if version.openapi is not None
                  for where, target in _references(version.openapi, ())]
    if references:
        raise DiagnosticsError([_reference_problem(path, data, *found) for found in references])
    try:  # a cache that cannot be written only costs time
        index.parent.mkdir(parents=True, exist_ok=True)
        entries = []
        for number, version in enumerate(versions):
            name = f"{stem}-{number}.json"
            _write_atomically(index.parent / name, {"schema": version.schema, "openapi": version.openapi})
            entries.append({"group": version.group, "version": version.version, "kind": version.kind, "file": name})
        _write_atomically(index, entries)  # last: an index names only schemas already written
    except OSError:
        pass
    return {(f"{v.group}/{v.version}", v.kind): _ready(v) for v in versions}


class CrdCatalog:
    """Served CRD versions by (apiVersion, kind), each read when first needed."""

    def __init__(self, versions: list[CrdVersion] | None = None,
                 loaders: dict[tuple[str, str], Loader] | None = None) -> None:
        self._loaders: dict[tuple[str, str], Loader] = dict(loaders or {})
        self._loaders.update({(f"{v.group}/{v.version}", v.kind): _ready(v) for v in versions or []})
        self._loaded: dict[tuple[str, str], CrdVersion] = {}
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    @classmethod
    def from_dirs(cls, dirs: list[Path]) -> CrdCatalog:
        loaders: dict[tuple[str, str], Loader] = {}
        for folder in dirs:
            if not folder.is_dir():
                raise UsageError(f"--crd-dir {folder}: not a directory")
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
                    loaders.update(file_versions(path))
        return cls(loaders=loaders)

    def _get(self, key: tuple[str, str]) -> CrdVersion | None:
        if key not in self._loaded:
            loader = self._loaders.get(key)
            if loader is None:
                return None
            try:
                self._loaded[key] = loader()
            except (OSError, ValueError, TypeError, KeyError) as error:
                raise UsageError(f"the cached schema of {key[0]} {key[1]} is unreadable ({error}); delete "
                                 f"{cache_dir()} and run again") from error
        return self._loaded[key]

    @property
    def by_key(self) -> dict[tuple[str, str], CrdVersion]:
        """Every version, read now."""
        return {key: version for key in sorted(self._loaders) if (version := self._get(key)) is not None}

    def find(self, api_version: str, kind: str) -> CrdVersion | None:
        return self._get((api_version, kind))

    def rules(self, document: dict[str, Any]) -> CelReport | None:
        """The CEL rules of the document's CRD, evaluated on it; None when no schema is known."""
        found = self._get((str(document.get("apiVersion")), str(document.get("kind"))))
        if found is None or found.openapi is None:
            return None
        from generator.checks.cel import evaluate  # the CEL library is slow to import: only when there are rules

        return evaluate(document, found.openapi)

    def errors(self, document: dict[str, Any]) -> list[jsonschema.ValidationError] | None:
        """None when no schema is known for the document; else its validation errors."""
        key = (str(document.get("apiVersion")), str(document.get("kind")))
        found = self._get(key)
        if found is None or found.schema is None:
            return None
        try:
            if key not in self._validators:
                self._validators[key] = KubernetesValidator(found.schema)
            return sorted(self._validators[key].iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
        except (jsonschema.SchemaError, jsonschema.exceptions.UnknownType, referencing.exceptions.Unresolvable, re.error,
                TypeError, ValueError) as error:
            raise UsageError(f"{found.source}: the schema of {key[0]} {key[1]} cannot be used: {error}") from error

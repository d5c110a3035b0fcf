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
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from generator.errors import UsageError

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


# Bump when the conversion changes: cached conversions of an older one are then ignored.
CONVERSION = "1"


def cache_dir() -> Path:
    """Where converted CRDs are kept between runs: $GPUAAS_GENERATOR_CACHE, else the user's cache directory."""
    explicit = os.environ.get("GPUAAS_GENERATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gpuaas-generator" / "crds"


def file_versions(path: Path) -> list[CrdVersion]:
    """The served versions a CRD file holds, converted once per distinct content: megabytes of YAML are parsed and
    converted on the first run, and read back as JSON, many times faster, on every later one."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: not readable: {error}") from error
    cached = cache_dir() / f"{hashlib.sha256(data).hexdigest()}-{CONVERSION}.json"
    try:
        return [CrdVersion(**{**entry, "source": str(path)}) for entry in json.loads(cached.read_bytes())]
    except (OSError, ValueError, TypeError):
        pass  # not cached yet, or unreadable: convert
    versions: list[CrdVersion] = []
    for crd in _crd_documents(path):
        try:
            versions += crd_versions(crd, str(path))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{path}: not a CustomResourceDefinition of the expected shape "
                             f"({type(error).__name__}: {error})") from error
    try:  # a cache that cannot be written only costs time
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cached.parent, prefix=".crd-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump([{k: v for k, v in asdict(version).items() if k != "source"} for version in versions], out)
        os.replace(temporary, cached)
    except OSError:
        pass
    return versions


class CrdCatalog:
    """Served CRD versions by (apiVersion, kind)."""

    def __init__(self, versions: list[CrdVersion]) -> None:
        self.by_key = {(f"{v.group}/{v.version}", v.kind): v for v in versions}
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    @classmethod
    def from_dirs(cls, dirs: list[Path]) -> CrdCatalog:
        versions: list[CrdVersion] = []
        for folder in dirs:
            if not folder.is_dir():
                raise UsageError(f"--crd-dir {folder}: not a directory")
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
                    versions += file_versions(path)
        return cls(versions)

    def find(self, api_version: str, kind: str) -> CrdVersion | None:
        return self.by_key.get((api_version, kind))

    def rules(self, document: dict[str, Any]) -> CelReport | None:
        """The CEL rules of the document's CRD, evaluated on it; None when no schema is known."""
        found = self.by_key.get((str(document.get("apiVersion")), str(document.get("kind"))))
        if found is None or found.openapi is None:
            return None
        from generator.checks.cel import evaluate  # the CEL library is slow to import: only when there are rules

        return evaluate(document, found.openapi)

    def errors(self, document: dict[str, Any]) -> list[jsonschema.ValidationError] | None:
        """None when no schema is known for the document; else its validation errors."""
        key = (str(document.get("apiVersion")), str(document.get("kind")))
        found = self.by_key.get(key)
        if found is None or found.schema is None:
            return None
        try:
            if key not in self._validators:
                self._validators[key] = jsonschema.Draft202012Validator(found.schema)
            return sorted(self._validators[key].iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
        except (jsonschema.SchemaError, jsonschema.exceptions.UnknownType, TypeError, ValueError) as error:
            raise UsageError(f"{found.source}: the schema of {key[0]} {key[1]} cannot be used: {error}") from error

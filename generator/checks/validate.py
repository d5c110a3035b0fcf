"""Validation of rendered documents: core kinds against the Kubernetes OpenAPI (kubernetes-validate),
custom resources against CRD schemas, and the tree lints. A problem names the emitted file with its
line and column, the document and the field path, and the portfolio line the value came from."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
from referencing import Registry, Resource

from generator.checks.core_enums import CORE_ENUMS
from generator.checks.crds import CrdCatalog, KubernetesValidator
from generator.checks.lint import lint_tree
from generator.checks.treelint import TreeProblem
from generator.diagnostics import Diagnostic, format_path
from generator.model.derive import s3_prefix, uploads
from generator.model.loader import SourceMap
from generator.model.portfolio import Portfolio
from generator.output.serialize import dump_documents
from generator.render.applications import app_roots
from generator.render.common import Tree

KUBERNETES_VERSION = "1.33.0"  # OpenShift 4.20

FieldPath = tuple[str | int, ...]


@dataclass
class ValidationReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    core_checked: int = 0
    custom_checked: int = 0
    skipped: list[str] = field(default_factory=list)
    rules_checked: int = 0  # CEL rule evaluations of the CRDs (x-kubernetes-validations)
    rules_for_updates: int = 0  # transition rules (oldSelf): the API server runs them on updates only
    rules_unevaluated: int = 0

    def summary(self) -> str:
        skipped = f", {len(self.skipped)} skipped (no schema)" if self.skipped else ""
        rules = ""
        if self.rules_checked or self.rules_for_updates:
            rules = (f"; {self.rules_checked} CEL rules checked, {self.rules_unevaluated} could not be evaluated, "
                     f"{self.rules_for_updates} apply to updates only")
        return f"{self.core_checked} core and {self.custom_checked} custom documents validated{skipped}{rules}"


def is_kustomization(document: dict[str, Any]) -> bool:
    return document.get("kind") == "Kustomization" and str(document.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


def document_label(document: dict[str, Any]) -> str:
    meta = document.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{document.get('kind')}/{namespace}{meta.get('name')}"


def _schema_dir(version: str) -> str:
    # kubernetes-validate's own layout: the newest schema version not newer than the cluster's, strict variant
    known = [v for v in kubernetes_validate.utils.all_versions()
             if kubernetes_validate.utils.major_minor(v) <= kubernetes_validate.utils.major_minor(version)]
    return f"v{known[-1]}-local-strict"


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# What the API server fills in before it validates (its defaulting functions), where the OpenAPI says "required":
# kind -> (field path, value). A RoleBinding's roleRef.apiGroup (k8s.io/kubernetes pkg/apis/rbac/v1/defaults.go).
SERVER_DEFAULTS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "RoleBinding": ((("roleRef", "apiGroup"), "rbac.authorization.k8s.io"),),
    "ClusterRoleBinding": ((("roleRef", "apiGroup"), "rbac.authorization.k8s.io"),),
}


def _with_enums(contents: dict[str, Any]) -> dict[str, Any]:
    """kubernetes-validate's definitions (from the OpenAPI v2) with the enums the OpenAPI v3 of the same Kubernetes
    publishes and its API server enforces ("Unsupported value")."""
    definitions = contents["$defs"]
    for name, fields in CORE_ENUMS.items():
        properties = (definitions.get(name) or {}).get("properties") or {}
        for field_name, values in fields.items():
            found = properties.get(field_name.removesuffix("[]"))
            target = (found or {}).get("items") if field_name.endswith("[]") else found
            if isinstance(target, dict):
                target["enum"] = [*values, None]  # every type of these schemas admits null
    return contents


@cache
def _definitions(schema_dir: str) -> Registry:
    contents = kubernetes_validate.utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json",
                                                        KUBERNETES_VERSION)
    return Resource.from_contents(_with_enums(contents)) @ Registry()


@cache
def _object_meta_validator() -> jsonschema.protocols.Validator:
    """ObjectMeta as the API server validates it on every object, custom resources included (a CRD's schema leaves
    `metadata` open)."""
    schema_dir = _schema_dir(KUBERNETES_VERSION)
    return KubernetesValidator({"$ref": f"https://kubernetes.io/api/_definitions.json#/$defs/{OBJECT_META}"},
                               registry=_definitions(schema_dir))


def object_meta_errors(document: dict[str, Any]) -> list[jsonschema.ValidationError]:
    """The errors of a custom resource's metadata against the Kubernetes ObjectMeta schema, paths from the document."""
    if "metadata" not in document:
        return []
    errors = sorted(_object_meta_validator().iter_errors(document["metadata"]), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        error.path.appendleft("metadata")
    return errors


def _with_server_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the API server validates it: what its defaulting fills in, filled in (on a copy)."""
    defaults = SERVER_DEFAULTS.get(str(document.get("kind")))
    if not defaults:
        return document
    result = copy.deepcopy(document)
    for path, value in defaults:
        parent: Any = result
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and not parent.get(path[-1]):
            parent[path[-1]] = value
    return result


@cache
def _core_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    """The strict Kubernetes schema of a core kind, read, decoded and compiled once per process; None if not core."""
    schema_dir = _schema_dir(KUBERNETES_VERSION)
    name = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 -> rbac-v1
    try:
        schema = kubernetes_validate.utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{name}.json",
                                                          KUBERNETES_VERSION)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions(schema_dir)
    return KubernetesValidator(schema, registry=registry)


def validate_core(document: dict[str, Any]) -> tuple[bool, tuple[FieldPath, str] | None]:
    """(is a core kind, first problem as (path, message) or None), with the schema kubernetes-validate ships."""
    validator = _core_validator(str(document.get("kind", "")), str(document.get("apiVersion", "")))
    if validator is None:
        return False, None
    error = jsonschema.exceptions.best_match(validator.iter_errors(_with_server_defaults(document)))
    if error is None:
        return True, None
    return True, (_pointed_path(error), str(error.message))


def _pointed_path(error: jsonschema.ValidationError) -> FieldPath:
    """The field path, down to the offending key for 'additional property' errors."""
    path: FieldPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema or {}).get("properties") or {})
        extra = sorted(k for k in error.instance if k not in known)
        if extra:
            path = (*path, extra[0])
    return path


class EmittedPositions:
    """Line and column of any field of any emitted document, read back from the serialised text."""

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._parsed: dict[str, list[Any]] = {}

    def position(self, file: str, document: int, path: FieldPath) -> tuple[int, int]:
        from ruamel.yaml import YAML  # only when there is something to report
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if file not in self._parsed:  # only a file with something to report is serialised and read back
            self._parsed[file] = list(YAML(typ="rt").load_all(dump_documents(self._tree[file])))
        node: Any = self._parsed[file][document]
        line, column = node.lc.line + 1, node.lc.col + 1
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                key_line, key_col = node.lc.key(part)
                line, column = key_line + 1, key_col + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                item_line, item_col = node.lc.item(part)
                line, column = item_line + 1, item_col + 1
                node = node[part]
            else:
                break
        return line, column


def origin_path(portfolio: Portfolio, document: dict[str, Any], path: FieldPath) -> FieldPath | None:
    """The portfolio field a value of an emitted document was rendered from."""
    kind = document.get("kind")
    name = (document.get("metadata") or {}).get("name")
    dotted = format_path(path)
    models = {m.name: i for i, m in enumerate(portfolio.models)}
    flavors = {f.name: i for i, f in enumerate(portfolio.flavors)}
    if kind == "InferenceService" and name in models:
        index = models[name]
        for prefix, sub in (("metadata.name", ("name",)), ('metadata.labels["kueue.x-k8s.io/priority-class"]', ("priority",)),
                            ("spec.predictor.model.args", ("vllm",)), ("spec.predictor.model.resources", ("gpus",)),
                            ("spec.predictor.model.storage", ("weights",)), ("spec.predictor.nodeSelector", ("gpus",)),
                            ("metadata.annotations", ("annotations",))):
            if dotted.startswith(prefix):
                return ("models", index, *sub)
        return ("models", index)
    if kind == "ResourceFlavor" and name in flavors:
        return ("flavors", flavors[name])
    if kind == "ClusterQueue":
        if len(path) > 4 and path[:4] == ("spec", "resourceGroups", 0, "flavors") and isinstance(path[4], int):
            return ("flavors", path[4], "quota")
        return ("kueue",)
    if kind == "LocalQueue":
        return ("kueue", "localQueue")
    if kind == "ServingRuntime":
        return ("runtime",)
    if kind == "Application":
        environments: list[str | None] = [None, *(e.name for e in portfolio.environments)]
        teams = {root.name(portfolio, env): root.team for env in environments for root in app_roots(portfolio)}
        team = teams.get(str(name))
        return ("teams", [t.name for t in portfolio.teams].index(team)) if team else ("gitops",)
    for upload in uploads(portfolio):
        if name == upload.name or (kind == "Job" and str(name).startswith(f"{upload.name}-")):
            first = next(i for i, m in enumerate(portfolio.models) if s3_prefix(m) == upload.prefix)
            return ("models", first, "weights")
    if kind in ("Job", "ConfigMap") and (document.get("metadata") or {}).get("namespace") == portfolio.model_registry.namespace:
        registered = _registered(document)
        if len(registered) == 1 and registered[0] in models:  # a shard of one: that model's entry is what fills it
            return ("models", models[registered[0]])
        return ("modelRegistry",)
    if kind in ("Job", "ConfigMap"):
        return ("jobs",)
    return None


def _registered(document: dict[str, Any]) -> list[str]:
    """The model names in a registration ConfigMap's models.json."""
    try:
        entries = json.loads(((document.get("data") or {}).get("models.json")) or "[]")
    except ValueError:
        return []
    return [str(e.get("name")) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


class TreeValidator:
    def __init__(self, tree: Tree, *, portfolio: Portfolio | None = None, source: SourceMap | None = None) -> None:
        self.tree = tree
        self.portfolio = portfolio
        self.source = source
        self.positions = EmittedPositions(tree)
        self.report = ValidationReport()
        self.core_documents: set[tuple[str, int]] = set()

    def add(self, problem: TreeProblem) -> None:
        document = self.tree[problem.file][problem.document]
        line, column = self.positions.position(problem.file, problem.document, problem.path)
        origin = None
        if self.portfolio is not None and self.source is not None:
            where = origin_path(self.portfolio, document, problem.path)
            if where is not None:
                o_line, o_col = self.source.position(where, at_key=True)
                origin = f"{self.source.file}:{o_line}:{o_col} {format_path(where)}"
        self.report.diagnostics.append(Diagnostic(
            file=problem.file, line=line, column=column, rule=problem.rule,
            path=format_path(problem.path), message=f"{document_label(document)}: {problem.message}", origin=origin,
        ))

    def check_core(self) -> None:
        for file, documents in self.tree.items():
            for index, document in enumerate(documents):
                if is_kustomization(document):
                    continue
                core, problem = validate_core(document)
                if core:
                    self.report.core_checked += 1
                    self.core_documents.add((file, index))
                if problem:
                    where, message = problem
                    self.add(TreeProblem(file, index, where, "K8S001",
                                         f"{message} (Kubernetes {KUBERNETES_VERSION[:-2]} OpenAPI)"))

    def check_custom(self, catalog: CrdCatalog, *, allow_missing: bool) -> None:
        for file, documents in self.tree.items():
            for index, document in enumerate(documents):
                if is_kustomization(document) or (file, index) in self.core_documents:
                    continue
                errors = catalog.errors(document)
                if errors is None:
                    if allow_missing:
                        self.report.skipped.append(f"{file}#{index} {document_label(document)}")
                    else:
                        self.add(TreeProblem(file, index, ("apiVersion",), "CRD001",
                                             f"no CRD schema for {document.get('apiVersion')} {document.get('kind')} in "
                                             "--crd-dir; add the CRD or pass --allow-missing-schemas"))
                    continue
                self.report.custom_checked += 1
                crd = f"CRD {document.get('apiVersion')} {document.get('kind')}"
                for error in errors:
                    self.add(TreeProblem(file, index, _pointed_path(error), "CRD002", f"{error.message} ({crd})"))
                for error in object_meta_errors(document):
                    self.add(TreeProblem(file, index, _pointed_path(error), "CRD002",
                                         f"{error.message} (ObjectMeta, Kubernetes {KUBERNETES_VERSION[:-2]} OpenAPI)"))
                rules = catalog.rules(document)
                if rules is None:
                    continue
                self.report.rules_checked += rules.evaluated
                self.report.rules_for_updates += rules.transition
                for outcome in rules.outcomes:
                    if outcome.failed:
                        self.add(TreeProblem(file, index, outcome.path, "CRD003",
                                             f"{outcome.message} (CEL rule of the {crd}: {outcome.rule.rule})"))
                    else:
                        self.report.rules_unevaluated += 1
                        self.add(TreeProblem(file, index, outcome.path, "CRD004", f"{outcome.message} ({crd})"))

    def check_lint(self) -> None:
        for problem in lint_tree(self.tree):
            self.add(problem)


def validate_tree(
    tree: Tree,
    *,
    catalog: CrdCatalog | None = None,
    allow_missing: bool = False,
    portfolio: Portfolio | None = None,
    source: SourceMap | None = None,
) -> ValidationReport:
    validator = TreeValidator(tree, portfolio=portfolio, source=source)
    validator.check_core()  # before check_custom, which skips the core documents it found
    if catalog is not None:
        validator.check_custom(catalog, allow_missing=allow_missing)
    validator.check_lint()
    validator.report.diagnostics.sort()
    return validator.report

"""`validate` against the real API server: the same documents judged by both, and every difference named.

A case (generator.sandbox.mutations.Case) is one document: a tree's own, a smallest valid object, or either
mutated. `validate`'s verdict is what it reports on the document alone with the checks that stand for the API server
(K8S001: the Kubernetes OpenAPI; CRD002/CRD003: the CRD schemas and their CEL rules; K8S002-K8S005: the API
server's limits on sizes, names and labels). The API server's verdict is a server-side apply of it (dry run, strict
field validation); an update's case first creates the object it updates, for real, and deletes it afterwards.

The two agree when both accept, or both refuse for the same reason: a CEL rule's case with the rule's own message,
a schema mutation naming the field it broke. A disagreement is legitimate only when the case says which of `DIFFERENCES` it shows and the
refusing side gives the words the case expects; anything else is an unexplained disagreement.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import kubernetes_validate.utils

from generator.checks.crds import CrdCatalog
from generator.checks.limits import names_and_labels, object_sizes
from generator.checks.treelint import TreeFacts
from generator.checks.validate import KUBERNETES_VERSION, TreeValidator, _schema_dir, _with_enums
from generator.sandbox.apply import RestMapper
from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError
from generator.sandbox.mutations import SCHEMA_FAMILIES, Case, Edit, Seed, View, dotted, edited, value_at

FIELD_MANAGER = "gpuaas-parity"
FILE = "parity/document.yaml"
QUANTITY_UNPARSED = "quantities must match the regular expression"


@dataclass(frozen=True)
class Difference:
    """A reason validate and the API server may legitimately disagree; `refused_by` is the side that refuses."""

    name: str
    refused_by: str  # "the API server" or "validate"
    why: str


DIFFERENCES = {d.name: d for d in (
    Difference("update only", "the API server",
               "a transition rule (oldSelf) or an immutable field: the API server judges a change against the live "
               "object; validate judges one tree, with no object before it"),
    Difference("Go validation", "the API server",
               "the API server's validation code (k8s.io/kubernetes pkg/apis/*/validation) checks more than its OpenAPI "
               "holds: a field required in one kind's context, bounds, the values of a field with no enum, config keys"),
    Difference("quantity syntax", "the API server",
               "a resource quantity is a string (or number) in the OpenAPI; the API server parses it"),
    Difference("webhook absent from the box", "validate",
               "a controller's validating webhook refuses it on a cluster (K8S005 holds KServe's rule for a name); the box "
               "runs only the API server, so it accepts it"),
)}


# --- validate's verdict --------------------------------------------------------------------------------------------

def our_verdict(document: dict[str, Any], catalog: CrdCatalog) -> list[str]:
    """What `validate --crd-dir` reports on the document alone with the checks that stand for the API server. The
    domain's lints are left out: they read documents the schemas accept, and a mutation need not be one."""
    tree = {FILE: [document]}
    validator = TreeValidator(tree)
    validator.check_core()
    validator.check_custom(catalog, allow_missing=False)
    for lint in (object_sizes, names_and_labels):
        try:
            problems = list(lint(FILE, 0, document, TreeFacts(frozenset())))
        except (AttributeError, TypeError, KeyError):  # metadata of the wrong type: the schema check refused it
            continue
        for problem in problems:
            validator.add(problem)
    return [f"{d.rule} {d.path}: {d.message}" for d in sorted(validator.report.diagnostics)]


def core_view(kind: str, api_version: str) -> View | None:
    """The strict schema of a core kind that K8S001 checks against (kubernetes-validate's, with the enums
    generator.checks.core_enums adds), or None for a kind that is not core."""
    directory = _schema_dir(KUBERNETES_VERSION)
    group, _, version = api_version.rpartition("/")
    name = f"{group.split('.')[0]}-{version}" if group else version
    try:
        schema = kubernetes_validate.utils.schema_contents(
            f"kubernetes-json-schema/{directory}/{kind.lower()}-{name}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        return None
    return View(schema, _definitions(directory))


@cache
def _definitions(directory: str) -> dict[str, Any]:
    contents = kubernetes_validate.utils.schema_contents(f"kubernetes-json-schema/{directory}/_definitions.json",
                                                         KUBERNETES_VERSION)
    return dict(_with_enums(contents)["$defs"])


def object_meta_view() -> View:
    """ObjectMeta, as the API server checks the metadata of every object."""
    view = core_view("ConfigMap", "v1")
    if view is None:
        raise SandboxError("kubernetes-validate has no schema of a v1 ConfigMap")
    return view.properties["metadata"]


# --- the API server's verdict --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerVerdict:
    status: int
    message: str

    @property
    def refused(self) -> bool:
        return self.status not in (200, 201)


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return str(body)
    causes = [f"{c.get('field', '')}: {c.get('message', '')}" for c in (body.get("details") or {}).get("causes") or []]
    return " | ".join([str(body.get("message", "")), *causes])


def server_side_apply(box: Box, mapper: RestMapper, document: dict[str, Any], *,
                      dry_run: bool = True) -> tuple[ServerVerdict, Any]:
    """A server-side apply of `document` with strict field validation (dry run unless told otherwise): the verdict
    and the object the API server answered with."""
    query = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    if dry_run:
        query["dryRun"] = "All"
    try:
        path = mapper.path(document)
    except (SandboxError, KeyError, TypeError) as error:  # a kind the API server does not serve is its verdict
        return ServerVerdict(404, str(error)), None
    status, body = box.request("PATCH", f"{path}?{urllib.parse.urlencode(query)}", document,
                               content_type="application/apply-patch+yaml", timeout=60)
    return ServerVerdict(status, "" if status in (200, 201) else _message(body)), body


def delete(box: Box, mapper: RestMapper, document: dict[str, Any]) -> None:
    """Delete an object this module created, its finalizers first (the box runs no controller to clear them)."""
    path = mapper.path(document)
    status, live = box.request("GET", path)
    if status != 200:
        return
    if (live.get("metadata") or {}).get("finalizers"):
        box.request("PATCH", path, {"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    box.request("DELETE", f"{path}?gracePeriodSeconds=0&propagationPolicy=Background")  # not orphan: no GC here


def _judge(box: Box, mapper: RestMapper, case: Case) -> ServerVerdict:
    if case.before is None:
        return server_side_apply(box, mapper, case.document)[0]
    created, _ = server_side_apply(box, mapper, case.before, dry_run=False)
    try:
        if created.refused:
            return ServerVerdict(created.status, f"the object to update was refused: {created.message}")
        return server_side_apply(box, mapper, case.document)[0]
    finally:
        delete(box, mapper, case.before)


# --- both verdicts -------------------------------------------------------------------------------------------------

@dataclass
class Result:
    case: Case
    ours: list[str]  # "RULE path: message", as validate reports them
    server: ServerVerdict

    @property
    def we_refuse(self) -> bool:
        return bool(self.ours)

    @property
    def agreed(self) -> bool:
        """Both accept, or both refuse for the same reason: a CEL rule's case with the rule's message, a schema
        mutation naming the field it broke."""
        if self.we_refuse != self.server.refused:
            return False
        if not self.server.refused:
            return True
        if self.case.rule_message is not None:
            return self.case.rule_message in self.server.message
        return self.case.family not in SCHEMA_FAMILIES or self.names_the_field

    @property
    def names_the_field(self) -> bool:
        """The API server's refusal names the field the case's edit touched, or is a quantity it could not parse (that
        message, from decoding the object, names none)."""
        field_name = next((p for p in reversed(self.case.edits[0].path) if isinstance(p, str)), "") if self.case.edits else ""
        return field_name in self.server.message or QUANTITY_UNPARSED in self.server.message

    @property
    def difference(self) -> str | None:
        """The legitimate difference that explains a disagreement: the one the case expects, shown as expected."""
        case = self.case
        if self.agreed or case.expect is None:
            return None
        if DIFFERENCES[case.expect].refused_by == "the API server":
            shown = self.server.refused and not self.we_refuse and case.because in self.server.message
        else:
            shown = self.we_refuse and not self.server.refused and any(case.because in line for line in self.ours)
        return case.expect if shown else None

    def line(self) -> str:
        ours = "refused (" + "; ".join(self.ours)[:400] + ")" if self.ours else "accepted"
        server = f"refused ({self.server.status}: {self.server.message[:400]})" if self.server.refused else "accepted"
        return f"{self.case.describe()}\n    validate: {ours}\n    API server: {server}"


def ensure_absent(box: Box, mapper: RestMapper, cases: list[Case]) -> None:
    """A dry-run apply of an object that exists is an update merged with what is live: the cases' objects must not
    exist, or the verdicts would be about something else."""
    def named(document: dict[str, Any]) -> bool:  # a mutation may have given the name or namespace another type
        meta = document.get("metadata")
        return isinstance(meta, dict) and isinstance(meta.get("name"), str) and isinstance(meta.get("namespace", ""), str)

    paths = {mapper.path(c.document) for c in cases if c.before is None and named(c.document)}
    existing = [p for p in sorted(paths) if box.request("GET", p)[0] == 200]
    if existing:
        raise SandboxError(f"parity: {len(existing)} object(s) a case would create exist already, e.g. {existing[0]}")


def judge(box: Box, catalog: CrdCatalog, cases: Iterable[Case], *, workers: int = 4) -> list[Result]:
    """Both verdicts on every case, the API server's a few at a time (the namespaces they name made first)."""
    cases = list(cases)
    mapper = RestMapper(box)
    for api_version, kind in sorted({(str(c.document["apiVersion"]), c.kind) for c in cases}):  # discovery, once
        mapper.path({"apiVersion": api_version, "kind": kind, "metadata": {"name": "discovery"}})
    ensure_namespaces(box, {str(d["metadata"]["namespace"]) for c in cases for d in (c.document, c.before or {})
                            if isinstance(d.get("metadata"), dict) and isinstance(d["metadata"].get("namespace"), str)})
    ensure_absent(box, mapper, cases)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda case: _judge(box, mapper, case), cases))
    return [Result(case, our_verdict(case.document, catalog), verdict) for case, verdict in zip(cases, verdicts, strict=True)]


@dataclass
class Tally:
    """Cases counted: agreed, legitimately different (by difference), unexplained."""

    cases: int = 0
    agreed: int = 0
    both_refused: int = 0
    legitimate: dict[str, list[Result]] = field(default_factory=dict)
    unexplained: list[Result] = field(default_factory=list)

    def add(self, results: Iterable[Result]) -> Tally:
        for result in results:
            self.cases += 1
            if result.agreed:
                self.agreed += 1
                self.both_refused += result.server.refused
            elif result.difference is not None:
                self.legitimate.setdefault(result.difference, []).append(result)
            else:
                self.unexplained.append(result)
        return self

    def summary(self, title: str) -> str:
        legitimate = sum(len(v) for v in self.legitimate.values())
        lines = [f"{title}: {self.cases} cases, {self.agreed} agreed ({self.both_refused} refused by both, "
                 f"{self.agreed - self.both_refused} accepted by both), {legitimate} legitimately different, "
                 f"{len(self.unexplained)} unexplained"]
        for name, results in sorted(self.legitimate.items()):
            lines.append(f"  legitimately different, {name} (refused by {DIFFERENCES[name].refused_by} only): "
                         f"{len(results)}")
            lines += [f"    {r.case.describe()}" for r in results]
        lines += ["  UNEXPLAINED " + r.line() for r in self.unexplained]
        return "\n".join(lines)


# --- cases the schemas cannot make -------------------------------------------------------------------------------

# What the API server checks beyond any schema, one mutation each of a document of the tree: (kind, what, edit, the
# legitimate difference it shows or None when validate must agree, the words of the refusing side).
_BEYOND: tuple[tuple[str, str, Edit, str | None, str], ...] = (
    ("Job", "a Job's pod restarts Always", Edit(("spec", "template", "spec", "restartPolicy"), "Always"),
     "Go validation", 'valid values: "OnFailure", "Never"'),
    ("Job", "a container without an image", Edit(("spec", "template", "spec", "containers", 0, "image"), delete=True),
     "Go validation", "image: Required value"),
    ("Job", "a negative backoffLimit", Edit(("spec", "backoffLimit"), -1),
     "Go validation", "must be greater than or equal to 0"),
    ("Job", "a cpu request that is no quantity", Edit(("spec", "template", "spec", "containers", 0, "resources"),
                                                     {"requests": {"cpu": "one"}}),
     "quantity syntax", QUANTITY_UNPARSED),
    ("Job", "a name that is no DNS-1123 label", Edit(("metadata", "name"), "Parity_Name"), None, ""),
    ("Job", "a label value with spaces", Edit(("metadata", "labels"), {"example.com/parity": "not a value!"}), None, ""),
    ("PersistentVolumeClaim", "a claim without a storage request", Edit(("spec", "resources"), {}),
     "Go validation", "resources[storage]: Required value"),
    ("PersistentVolumeClaim", "a storage request that is no quantity", Edit(("spec", "resources", "requests", "storage"),
                                                                            "lots"),
     "quantity syntax", QUANTITY_UNPARSED),
    ("ConfigMap", "a data key with spaces", Edit(("data",), {"not a key!": "x"}),
     "Go validation", "a valid config key must consist of"),
    ("ServiceAccount", "a name that is no DNS-1123 subdomain", Edit(("metadata", "name"), "Parity_Name"), None, ""),
    ("Namespace", "a namespace name with a dot", Edit(("metadata", "name"), "parity.name"), None, ""),
    ("Role", "a rule with no verb", Edit(("rules", 0, "verbs"), []),
     "Go validation", "verbs must contain at least one value"),
    ("Role", "a name of capitals and '_' (a path segment)", Edit(("metadata", "name"), "Parity_Name"), None, ""),
    ("ClusterRole", "a name with '%'", Edit(("metadata", "name"), "parity%name"), None, ""),
    ("RoleBinding", "a roleRef to a kind that is no role", Edit(("roleRef", "kind"), "Thing"),
     "Go validation", 'Unsupported value: "Thing"'),
    ("RoleBinding", "a subject of no known kind", Edit(("subjects", 0, "kind"), "Robot"),
     "Go validation", 'Unsupported value: "Robot"'),
    ("InferenceService", "a name that is no DNS-1123 subdomain", Edit(("metadata", "name"), "Parity_Name"), None, ""),
    ("InferenceService", "a name with a dot (KServe's webhook refuses it)", Edit(("metadata", "name"), "parity.name"),
     "webhook absent from the box", "KServe refuses"),
    ("ClusterQueue", "a name that is no DNS-1123 subdomain", Edit(("metadata", "name"), "Parity_Name"), None, ""),
    ("Application", "a name that is no DNS-1123 subdomain", Edit(("metadata", "name"), "Parity_Name"), None, ""),
)


def _first_with(seeds: list[Seed], paths: Iterable[tuple[str | int, ...]]) -> Seed | None:
    """The first seed that has every one of `paths`."""
    def has(document: Any, path: tuple[str | int, ...]) -> bool:
        try:
            value_at(document, path)
        except (KeyError, IndexError, TypeError):
            return False
        return True

    wanted = list(paths)
    return next((seed for seed in seeds if all(has(seed[1], p) for p in wanted)), None)


def beyond_the_schemas(seeds: dict[str, list[Seed]]) -> list[Case]:
    """The `_BEYOND` mutations, each of the first document of its kind that has the field it changes."""
    cases = []
    for kind, what, edit, expect, because in _BEYOND:
        found = _first_with(seeds.get(kind, []), [edit.path[:-1]])
        if found is not None:
            label, document = found
            cases.append(Case("beyond the schemas", what, label, edited(document, (edit,)), (edit,), expect=expect,
                              because=because))
    return cases


def _transition_message(catalog: CrdCatalog, document: dict[str, Any], place: tuple[str, ...]) -> str:
    """The message of the transition rule (oldSelf) at `place` of the document's CRD."""
    version = catalog.find(str(document["apiVersion"]), str(document["kind"]))
    view = View(version.openapi if version and version.openapi else {})
    for part in place:
        view = view.child(part) or View({})
    return next(str(r.get("message", "")) for r in view.rules if "oldSelf" in str(r["rule"]))


def updates(seeds: dict[str, list[Seed]], catalog: CrdCatalog) -> list[Case]:
    """Changes the API server refuses against the live object: the transition rules of the CRDs the trees use, and
    the immutable fields of their core kinds. Each `before` is a tree's document under a name of its own."""
    def renamed(document: dict[str, Any]) -> dict[str, Any]:
        return edited(document, (Edit(("metadata", "name"), f"parity-update-{str(document['kind']).lower()}"),))

    # (kind, what the object is created with, the change, the place of the transition rule it breaks, the words of
    # an immutable field's refusal); a ResourceFlavor with a topology needs node labels (a rule of its own).
    plans: list[tuple[str, tuple[Edit, ...], tuple[Edit, ...], tuple[str, ...] | None, str]] = [
        ("LocalQueue", (), (Edit(("spec", "clusterQueue"), "parity-other-queue"),), ("spec", "clusterQueue"), ""),
        ("ResourceFlavor", (Edit(("spec", "nodeLabels"), {"example.com/parity": "a"}),
                            Edit(("spec", "topologyName"), "parity-topology")),
         (Edit(("spec", "topologyName"), delete=True),), ("spec",), ""),
        ("Job", (), (Edit(("spec", "template", "spec", "containers", 0, "image"), "registry.invalid/parity:2"),), None,
         "field is immutable"),
        ("PersistentVolumeClaim", (), (Edit(("spec", "storageClassName"), "parity-other-class"),), None,
         "spec is immutable after creation"),
        ("RoleBinding", (), (Edit(("roleRef", "name"), "parity-other-role"),), None, "cannot change roleRef"),
    ]
    cases = []
    for kind, setup, change, rule_place, because in plans:
        found = _first_with(seeds.get(kind, []), [e.path[:-1] for e in change])
        if found is None:
            continue
        label, document = found
        before = edited(renamed(document), setup)
        message = _transition_message(catalog, document, rule_place) if rule_place is not None else None
        cases.append(Case("update", dotted(change[0].path), label, edited(before, change), change, rule_message=message,
                          before=before, expect="update only", because=message or because))
    return cases


# --- a whole tree, applied for real --------------------------------------------------------------------------------

@dataclass
class Applied:
    document: dict[str, Any]
    verdict: ServerVerdict
    lost: list[str]  # what of the document the API server did not keep: "path" (dropped) or "path: old -> new"

    @property
    def name(self) -> str:
        meta = self.document["metadata"]
        return f"{self.document['kind']} {meta.get('namespace', '') + '/' if meta.get('namespace') else ''}{meta['name']}"


def lost_fields(sent: Any, kept: Any, path: tuple[str | int, ...] = ()) -> list[str]:
    """The fields of `sent` that `kept` lacks or holds another value for."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        return [found for key, value in sent.items()
                for found in ([dotted((*path, key))] if key not in kept else lost_fields(value, kept[key], (*path, key)))]
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        return [found for index, (a, b) in enumerate(zip(sent, kept, strict=True)) for found in lost_fields(a, b, (*path, index))]
    return [] if sent == kept else [f"{dotted(path)}: {sent!r} -> {kept!r}"]


def ensure_namespaces(box: Box, names: Iterable[str]) -> None:
    """The namespaces a tree's objects live in and the tree does not make: a cluster has them before the sync."""
    for name in sorted(set(names)):
        status, body = box.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                   "metadata": {"name": name}})
        if status not in (201, 409):
            raise SandboxError(f"parity: namespace {name}: {_message(body)}")


def apply_tree(box: Box, documents: list[dict[str, Any]], *, workers: int = 4) -> list[Applied]:
    """Server-side apply, for real, of every document (its Namespaces first), each compared with what was stored."""
    mapper = RestMapper(box)
    made = {d["metadata"]["name"] for d in documents if d["kind"] == "Namespace"}
    ensure_namespaces(box, {d["metadata"]["namespace"] for d in documents if d["metadata"].get("namespace")} - made)

    def one(document: dict[str, Any]) -> Applied:
        verdict, body = server_side_apply(box, mapper, document, dry_run=False)
        kept = body if not verdict.refused else {}
        return Applied(document, verdict, [] if verdict.refused else
                       lost_fields({k: v for k, v in document.items() if k != "metadata"}, kept)
                       + lost_fields(document["metadata"], kept.get("metadata") or {}, ("metadata",)))

    first = [one(d) for d in documents if d["kind"] == "Namespace"]
    rest = [d for d in documents if d["kind"] != "Namespace"]
    for api_version, kind in sorted({(str(d["apiVersion"]), str(d["kind"])) for d in rest}):  # discovery, once
        mapper.path({"apiVersion": api_version, "kind": kind, "metadata": {"name": "discovery"}})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return first + list(pool.map(one, rest))


def remove_tree(box: Box, documents: list[dict[str, Any]], *, timeout: float = 60, workers: int = 4) -> None:
    """Delete what `apply_tree` made but its Namespaces (the next tree reuses them), and wait until it is gone."""
    mapper = RestMapper(box)
    rest = [d for d in documents if d["kind"] != "Namespace"]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda d: delete(box, mapper, d), rest))
    deadline = time.monotonic() + timeout
    left = rest
    while left:
        left = [d for d in left if box.request("GET", mapper.path(d))[0] == 200]
        if left and time.monotonic() > deadline:
            raise SandboxError(f"parity: {len(left)} object(s) still there {timeout:.0f} s after their deletion, e.g. "
                               f"{left[0]['kind']} {left[0]['metadata']['name']}")
        if left:
            time.sleep(0.2)


def published_enums(box: Box) -> dict[str, dict[str, list[str]]]:
    """The enums the API server's OpenAPI v3 publishes for the fields of its built-in kinds: definition -> field
    (`name[]` for a list's items) -> values. Custom resources' groups are left out (their CRDs are checked as such)."""
    _, crds = box.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    custom = {str(c["spec"]["group"]) for c in crds.get("items", [])}
    _, index = box.request("GET", "/openapi/v3")
    found: dict[str, dict[str, list[str]]] = {}
    for path, entry in sorted(index["paths"].items()):
        parts = path.split("/")
        if not (path == "api/v1" or (parts[0] == "apis" and len(parts) == 3 and parts[1] not in custom)):
            continue
        _, document = box.request("GET", str(entry["serverRelativeURL"]))
        for name, schema in document["components"]["schemas"].items():
            for field_name, prop in (schema.get("properties") or {}).items():
                if prop.get("enum"):
                    found.setdefault(name, {})[field_name] = sorted(prop["enum"])
                if (prop.get("items") or {}).get("enum"):
                    found.setdefault(name, {})[field_name + "[]"] = sorted(prop["items"]["enum"])
    return {name: dict(sorted(fields.items())) for name, fields in sorted(found.items())}


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)

"""The API server's limits on every emitted object: sizes, names and labels, checked before Argo CD meets them.

Sizes are counted as the API server counts them once Argo CD has applied the object client-side (with its
last-applied copy); names follow the rules of each kind and of what controllers derive from them (KServe names a
model's Deployment and Service `<name>-predictor`, OpenShift its Route's host `<name>-<namespace>.<apps domain>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.checks.treelint import TreeFacts, TreeProblem
from generator.render.limits import (
    ANNOTATIONS_BYTES,
    DATA_BYTES,
    DNS_LABEL_CHARS,
    DNS_SUBDOMAIN_CHARS,
    LABEL_VALUE_CHARS,
    REQUEST_BYTES,
    annotations_bytes,
    data_bytes,
    object_bytes,
)

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # a Service name; KServe's rule for an InferenceService
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
PREDICTOR_SUFFIX = "-predictor"
# Kinds whose name must be a DNS-1123 label (at most 63): a Namespace, and a Job (its name becomes the label
# job-name of its pods).
LABEL_NAMED = {"Namespace", "Job"}
# Kinds whose name is only a path segment (RBAC's ValidateRBACName): anything but '.', '..', '/' and '%'.
PATH_SEGMENT_NAMED = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}


def _kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB"


def object_sizes(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """K8S002-K8S004: the object, its data and its annotations within the API server's limits, as Argo CD applies it."""
    if doc.get("kind") == "Kustomization":
        return
    size = object_bytes(doc)
    if size > REQUEST_BYTES:
        yield TreeProblem(file, index, ("metadata", "name"), "K8S002",
                          f"the object is {_kib(size)} as Argo CD applies it (with its last-applied copy); etcd refuses "
                          f"requests over {_kib(REQUEST_BYTES)}: split it or shorten what fills it")
    if doc.get("kind") in ("ConfigMap", "Secret"):
        data = data_bytes(doc)
        if data > DATA_BYTES:
            yield TreeProblem(file, index, ("data",), "K8S003",
                              f"its data is {_kib(data)}; a ConfigMap or Secret holds at most {_kib(DATA_BYTES)}")
    annotations = annotations_bytes(doc)
    if annotations > ANNOTATIONS_BYTES:
        yield TreeProblem(file, index, ("metadata", "name"), "K8S004",
                          f"its annotations are {_kib(annotations)} once Argo CD's client-side apply adds "
                          f"kubectl.kubernetes.io/last-applied-configuration (a copy of the whole object); the API server "
                          f"allows {_kib(ANNOTATIONS_BYTES)}: the object is too large to sync; shorten what fills it")


def _name_problem(kind: str, name: str, namespace: str | None, exposed: bool) -> str | None:
    if kind == "InferenceService":
        longest = DNS_LABEL_CHARS - len(PREDICTOR_SUFFIX)
        if not _DNS_1035.fullmatch(name):
            return "KServe refuses an InferenceService name that does not start with a letter (its rule: [a-z]([-a-z0-9]*[a-z0-9])?)"
        if len(name) > longest:
            return (f"is {len(name)} characters; KServe names the Deployment and Service {name}{PREDICTOR_SUFFIX}, and a "
                    f"Service name holds at most {DNS_LABEL_CHARS}: at most {longest}")
        if exposed and namespace and len(name) + 1 + len(namespace) > DNS_LABEL_CHARS:
            return (f"the Route's host starts with {name}-{namespace} ({len(name) + 1 + len(namespace)} characters); a DNS "
                    f"label holds at most {DNS_LABEL_CHARS}, so the router would not admit it: shorten the name or make it "
                    "internal")
        return None
    if kind in PATH_SEGMENT_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return f"a {kind} name may not be '.' or '..' nor contain '/' or '%'"
        return None
    if kind in LABEL_NAMED:
        if not _DNS_LABEL.fullmatch(name) or len(name) > DNS_LABEL_CHARS:
            return f"a {kind} name is a DNS-1123 label: lower-case letters, digits and '-', at most {DNS_LABEL_CHARS}"
        return None
    if not _DNS_SUBDOMAIN.fullmatch(name) or len(name) > DNS_SUBDOMAIN_CHARS:
        return f"a name is a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most {DNS_SUBDOMAIN_CHARS}"
    return None


def _key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (not _DNS_SUBDOMAIN.fullmatch(prefix) or len(prefix) > DNS_SUBDOMAIN_CHARS):
        return f"the prefix {prefix!r} is not a DNS-1123 subdomain of at most {DNS_SUBDOMAIN_CHARS} characters"
    if not _QUALIFIED.fullmatch(name) or len(name) > DNS_LABEL_CHARS:
        return (f"the name part {name!r} must be at most {DNS_LABEL_CHARS} letters, digits, '-', '_' or '.', starting "
                "and ending with a letter or digit")
    return None


def names_and_labels(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """K8S005: names as each kind allows them (and as KServe and the router derive from them), label keys and
    values, annotation keys."""
    if doc.get("kind") == "Kustomization":
        return
    meta = doc.get("metadata") or {}
    labels = meta.get("labels") or {}
    exposed = labels.get("networking.kserve.io/visibility") == "exposed"
    problem = _name_problem(str(doc.get("kind")), str(meta.get("name", "")), meta.get("namespace"), exposed)
    if problem:
        yield TreeProblem(file, index, ("metadata", "name"), "K8S005", f"name {meta.get('name')!r}: {problem}")
    for key, value in labels.items():
        problem = _key_problem(str(key))
        if problem is None and (len(str(value)) > LABEL_VALUE_CHARS or not _LABEL_VALUE.fullmatch(str(value))):
            problem = (f"the value {str(value)[:70]!r} is not a label value: at most {LABEL_VALUE_CHARS} letters, digits, "
                       "'-', '_' or '.', starting and ending with a letter or digit")
        if problem:
            yield TreeProblem(file, index, ("metadata", "labels", key), "K8S005", f"label {key}: {problem}")
    for key in meta.get("annotations") or {}:
        problem = _key_problem(str(key))
        if problem:
            yield TreeProblem(file, index, ("metadata", "annotations", key), "K8S005", f"annotation {key}: {problem}")

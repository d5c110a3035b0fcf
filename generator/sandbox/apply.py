"""The rendered tree applied to the box as Argo CD syncs it: server-side apply, wave by wave, waiting for health.

Argo CD (gitops-engine pkg/sync, at the version OpenShift GitOps 1.19 ships) orders a sync by wave
(`argocd.argoproj.io/sync-wave`), then by kind (its fixed kind order: namespaces, service accounts, secrets,
config maps, storage, RBAC, workloads, ...; every custom kind after them), then by name; a Namespace moves
up to just before the first resource in it, a CRD before the first resource of its kind. It applies one
wave, then waits until every resource of it is healthy (generator.sandbox.health) before the next; a
Degraded resource fails the sync. After the last wave it does not wait: the sync has succeeded and the
last wave's health is only reported. With `ServerSideApply=true` it applies as the field manager
`argocd-controller`, forcing conflicts.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.render.common import SYNC_WAVE, Tree
from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError
from generator.sandbox.health import (
    DEGRADED,
    HEALTHY,
    Health,
    administrator_checks,
    custom_checks,
    group_of,
    resource_health,
)

FIELD_MANAGER = "argocd-controller"
HOOK = "argocd.argoproj.io/hook"
WAVE_TIMEOUT = 180.0
POLL = 0.5

# gitops-engine pkg/sync/sync_tasks.go: kinds not listed sort after all of these.
KIND_ORDER = {kind: index for index, kind in enumerate((
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService",
))}


@dataclass
class Resource:
    doc: dict[str, Any]
    wave: int

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.doc["metadata"].get("namespace") or "")

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass
class WaveResult:
    wave: int
    resources: list[str]
    health: dict[str, str] = field(default_factory=dict)  # resource -> its health when the wave ended
    seconds: float = 0.0
    waited: bool = True  # False for the last wave: Argo CD does not wait for it


def application_documents(tree: Tree, application: str) -> list[dict[str, Any]]:
    """What the Application syncs: the documents of `gitops/<application>/base/` (no Kustomization files)."""
    prefix = f"gitops/{application}/base/"
    return [doc for path in sorted(tree) if path.startswith(prefix) for doc in tree[path] if doc.get("kind") != "Kustomization"]


def wave_of(doc: Mapping[str, Any]) -> int:
    return int(((doc.get("metadata") or {}).get("annotations") or {}).get(SYNC_WAVE, "0"))


def sync_order(documents: list[dict[str, Any]]) -> list[Resource]:
    """The documents in the order Argo CD applies them (hooks are not supported: the tree has none)."""
    hooks = [d for d in documents if HOOK in ((d.get("metadata") or {}).get("annotations") or {})]
    if hooks:
        raise SandboxError(f"the box does not run Argo CD hooks; the tree has {len(hooks)} ({hooks[0]['kind']} "
                           f"{hooks[0]['metadata']['name']})")
    resources = sorted((Resource(d, wave_of(d)) for d in documents),
                       key=lambda r: (r.wave, KIND_ORDER.get(r.kind, len(KIND_ORDER)), r.name))
    _move_before_dependents(resources, lambda r: r.name if r.kind == "Namespace" and group_of(r.doc) == "" else None,
                            lambda r: r.namespace or None)
    _move_before_dependents(
        resources,
        lambda r: f"{r.doc['spec']['group']}/{r.doc['spec']['names']['kind']}" if r.kind == "CustomResourceDefinition" else None,
        lambda r: f"{group_of(r.doc)}/{r.kind}")
    return resources


def _move_before_dependents(resources: list[Resource], provides: Callable[[Resource], str | None],
                            needs: Callable[[Resource], str | None]) -> None:
    """gitops-engine's adjustDeps: a dependency placed after its first dependent moves just before it, in its wave."""
    first: dict[str, int] = {}
    for index in range(len(resources)):
        resource = resources[index]
        key = provides(resource)
        if key is not None:
            if key in first:
                target = first[key]
                resource.wave = resources[target].wave
                resources.insert(target, resources.pop(index))
                first = {k: (i + 1 if i >= target else i) for k, i in first.items()}
        else:
            dependency = needs(resource)
            if dependency is not None and dependency not in first:
                first[dependency] = index


class RestMapper:
    """Kind -> REST path, from the API server's discovery (so custom resources need no table of ours)."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self._groups: dict[str, dict[str, tuple[str, bool]]] = {}

    def _resources(self, api_version: str) -> dict[str, tuple[str, bool]]:
        if api_version not in self._groups:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, body = self.box.request("GET", path)
            if status != 200:
                raise SandboxError(f"the API server serves no {api_version} (is its CRD applied?): {_message(body)}")
            self._groups[api_version] = {r["kind"]: (r["name"], bool(r["namespaced"]))
                                         for r in body.get("resources", []) if "/" not in r["name"]}
        return self._groups[api_version]

    def path(self, doc: Mapping[str, Any]) -> str:
        api_version, kind = str(doc["apiVersion"]), str(doc["kind"])
        found = self._resources(api_version).get(kind)
        if found is None:
            raise SandboxError(f"the API server has no kind {kind} in {api_version}")
        plural, namespaced = found
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        meta = doc["metadata"]
        where = f"/namespaces/{meta['namespace']}" if namespaced and meta.get("namespace") else ""
        return f"{base}{where}/{plural}/{urllib.parse.quote(str(meta['name']))}"


def _message(body: Any) -> str:
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else str(body)


def server_side_apply(box: Box, doc: Mapping[str, Any], manager: str, mapper: RestMapper | None = None) -> Any:
    """Server-side apply of one object as `manager`, forcing conflicts; returns the live object."""
    query = urllib.parse.urlencode({"fieldManager": manager, "force": "true"})
    status, body = box.request("PATCH", f"{(mapper or RestMapper(box)).path(doc)}?{query}", doc,
                               content_type="application/apply-patch+yaml")
    if status not in (200, 201):
        meta = doc["metadata"]
        name = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        raise SandboxError(f"the API server refused {doc['kind']} {name}: {_message(body)}")
    return body


class Sync:
    """One sync of `documents` to the box, as Argo CD performs it; `checks` are the Lua health checks."""

    def __init__(self, box: Box, documents: list[dict[str, Any]], checks: Mapping[tuple[str, str], str], *,
                 wave_timeout: float = WAVE_TIMEOUT, progress: Callable[[str], None] | None = None) -> None:
        self.box, self.checks, self.wave_timeout = box, checks, wave_timeout
        self.resources = sync_order(documents)
        self.mapper = RestMapper(box)
        self.progress = progress or box.progress

    def apply(self, resource: Resource) -> None:
        try:
            server_side_apply(self.box, resource.doc, FIELD_MANAGER, self.mapper)
        except SandboxError as error:
            raise SandboxError(f"wave {resource.wave}: {error}") from error

    def health(self, resource: Resource) -> Health | None:
        status, body = self.box.request("GET", self.mapper.path(resource.doc))
        if status != 200:
            return Health("Missing", _message(body))
        return resource_health(body, self.checks)

    def run(self) -> list[WaveResult]:
        waves = sorted({r.wave for r in self.resources})
        results = []
        for wave in waves:
            members = [r for r in self.resources if r.wave == wave]
            start = time.monotonic()
            for resource in members:
                self.apply(resource)
            last = wave == waves[-1]
            self.progress(f"sync: wave {wave}: applied {len(members)} resource(s)"
                          + ("" if last else "; waiting for their health ..."))
            result = WaveResult(wave, [str(r) for r in members], waited=not last)
            result.health = self._wait(members) if not last else self._healths(members)
            result.seconds = time.monotonic() - start
            self.progress(f"sync: wave {wave}: " + ("healthy" if not last else "applied (Argo CD does not wait for the "
                                                    "last wave)") + f" in {result.seconds:.1f} s")
            results.append(result)
        return results

    def _healths(self, members: list[Resource]) -> dict[str, str]:
        return {str(r): str(h) if (h := self.health(r)) else "no health check" for r in members}

    def _wait(self, members: list[Resource]) -> dict[str, str]:
        deadline = time.monotonic() + self.wave_timeout
        pending = list(members)
        seen: dict[str, str] = {}
        while True:
            for resource in list(pending):
                health = self.health(resource)
                seen[str(resource)] = str(health) if health else "no health check"
                if health is None or health.status == HEALTHY:
                    pending.remove(resource)
                elif health.status == DEGRADED:
                    raise SandboxError(f"wave {resource.wave}: {resource} is Degraded: {health.message} "
                                       "(Argo CD fails the sync here)")
            if not pending:
                return seen
            if time.monotonic() > deadline:
                waiting = "; ".join(f"{r}: {seen[str(r)]}" for r in pending)
                raise SandboxError(f"wave {pending[0].wave}: not healthy after {self.wave_timeout:.0f} s: {waiting}")
            time.sleep(POLL)


def sync_tree(box: Box, tree: Tree, application: str, *, wave_timeout: float = WAVE_TIMEOUT) -> list[WaveResult]:
    """Apply the Application's documents of `tree` in Argo CD's order, with the health checks the tree ships and the
    ones the runbook merges into the `ArgoCD` instance."""
    documents = [d for docs in tree.values() for d in docs]
    checks = {**administrator_checks(), **custom_checks(documents)}
    waves: list[WaveResult] = []
    for part in application_parts(tree, application):
        waves += Sync(box, part, checks, wave_timeout=wave_timeout).run()
    return waves


def application_parts(tree: Tree, application: str) -> list[list[dict[str, Any]]]:
    """The documents of each Application the tree's base holds (generator/render/applications.py), each synced with
    its own waves as Argo CD syncs each Application: the platform first (the teams' namespaces), then each team's
    support (its upload volumes: no wave waits on them, a volume binds when its Job's pod comes), then each team's
    serving Application. Without teams, one part: the serving tree."""
    prefix = f"gitops/{application}/base/"
    parts: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for path in sorted(tree):
        if not path.startswith(prefix):
            continue
        folders = path[len(prefix):].split("/")
        if folders[0] == "platform":
            key = (0, "")
        elif folders[0] == "teams" and len(folders) > 3:
            key = (1 if folders[2] == "support" else 2, folders[1])
        else:
            key = (0, "")
        parts.setdefault(key, []).extend(d for d in tree[path] if d.get("kind") != "Kustomization")
    return [parts[key] for key in sorted(parts)]

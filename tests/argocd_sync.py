"""Argo CD's automated sync of one Application, as far as wave order, health and retries go, for the tests.

Read from gitops-engine's pkg/sync/sync_context.go (the version argo-cd v3.1 and v3.2 pin) and argo-cd's
controller/appcontroller.go (processRequestedAppOperation, autoSync):
- an operation's tasks are the Application's resources; with the sync option ApplyOutOfSyncOnly=true the
  resources whose live object equals Git are dropped from them (filterOutOfSyncTasks), failed or not;
- tasks run wave by wave (argocd.argoproj.io/sync-wave, lowest first); after applying a wave the sync waits
  until each applied resource is Healthy (the task succeeds) or Degraded (the task fails, and the operation
  fails: "one or more synchronization tasks completed unsuccessfully"); Progressing or Suspended keeps it
  waiting; a resource with no health check succeeds at once; the last wave is not waited for;
- a failed operation is retried (spec.syncPolicy.retry.limit times) as a new attempt of the same operation:
  tasks are computed again against the live state, with the same sync options.
Hooks, pruning and selective syncs are left out: the tree uses none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str]  # kind, namespace, name
WAVE = "argocd.argoproj.io/sync-wave"
FAILED_TASKS = "one or more synchronization tasks completed unsuccessfully"


def key(doc: dict[str, Any]) -> Key:
    meta = doc["metadata"]
    return str(doc["kind"]), str(meta.get("namespace", "")), str(meta["name"])


def wave(doc: dict[str, Any]) -> int:
    return int(((doc.get("metadata") or {}).get("annotations") or {}).get(WAVE, "0"))


@dataclass
class Cluster:
    """The live objects, and the health a resource reaches once applied (None: no health check; the default:
    Healthy). `health` decides it from the applied document, e.g. a Job made to fail is Degraded."""

    health: Callable[[dict[str, Any]], str | None] = lambda doc: "Healthy"
    live: dict[Key, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Attempt:
    phase: str  # Succeeded or Failed
    message: str
    applied: list[Key]  # in the order they were applied
    failed: list[Key]


def _attempt(documents: list[dict[str, Any]], cluster: Cluster, *, out_of_sync_only: bool) -> Attempt:
    tasks = list(documents)
    if out_of_sync_only:
        tasks = [d for d in tasks if cluster.live.get(key(d)) != d]
    if not tasks:
        return Attempt("Succeeded", "successfully synced (no more tasks)", [], [])
    waves = sorted({wave(d) for d in tasks})
    applied: list[Key] = []
    for number in waves:
        batch = [d for d in tasks if wave(d) == number]
        for doc in batch:
            cluster.live[key(doc)] = doc
            applied.append(key(doc))
        if number == waves[-1]:
            break  # the last wave: the sync ends once it is applied, even if its resources degrade later
        failed = [key(d) for d in batch if cluster.health(d) == "Degraded"]
        if failed:
            return Attempt("Failed", FAILED_TASKS, applied, failed)
        waiting = [key(d) for d in batch if cluster.health(d) not in ("Healthy", "Degraded", None)]
        assert not waiting, f"the sync would wait for {waiting}: give the model cluster an outcome for them"
    return Attempt("Succeeded", "successfully synced (all tasks run)", applied, [])


def sync(application: dict[str, Any], documents: list[dict[str, Any]], cluster: Cluster) -> list[Attempt]:
    """One automated sync operation of `application` with its retries: every attempt, first to last."""
    policy = application["spec"]["syncPolicy"]
    out_of_sync_only = "ApplyOutOfSyncOnly=true" in policy.get("syncOptions", [])
    limit = int((policy.get("retry") or {}).get("limit", 5))  # Argo CD's default for automated syncs
    attempts = [_attempt(documents, cluster, out_of_sync_only=out_of_sync_only)]
    while attempts[-1].phase == "Failed" and len(attempts) <= limit:
        attempts.append(_attempt(documents, cluster, out_of_sync_only=out_of_sync_only))
    return attempts

"""Small builders shared by the renderers: metadata, sync waves, the GPU toleration."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from generator.model.portfolio import Portfolio

Document = dict[str, Any]
# POSIX path relative to the repository root -> the documents of that file, in order.
Tree = dict[str, list[Document]]

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# Argo CD applies a wave only when the one before it is healthy: queues first, weights complete before
# serving, then the runtime and the registration, and the InferenceServices last. Nothing may come after
# them: a model waiting for quota is not Ready for as long as it waits, and a later wave would wait with it
# (Argo CD ends a sync right after applying its last wave, without waiting for that wave's health).
WAVES = {"kueue": 0, "model-upload": 1, "serving-runtime": 2, "model-access": 2, "model-registration": 2, "inference": 3}

MANAGED_BY = {"app.kubernetes.io/managed-by": "gpuaas-generator"}


def metadata(
    name: str,
    *,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    wave: str | None = None,
) -> Document:
    meta: Document = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    all_labels = {**MANAGED_BY, **(labels or {})}
    meta["labels"] = all_labels
    all_annotations = dict(annotations or {})
    if wave is not None:  # first in the mapping, and the generator's value wins (ANN001 refuses a model's own)
        all_annotations = {SYNC_WAVE: str(WAVES[wave]), **{k: v for k, v in all_annotations.items() if k != SYNC_WAVE}}
    if all_annotations:
        meta["annotations"] = all_annotations
    return meta


QUEUE_NAME = "kueue.x-k8s.io/queue-name"


def job_queue_labels(portfolio: Portfolio) -> dict[str, str]:
    """With teams a Job runs in its team's namespace, which Kueue manages: it joins the team's LocalQueue by name
    (its cpu and memory count against the team's quota while it runs) rather than waiting for a default queue."""
    return {QUEUE_NAME: portfolio.kueue.local_queue} if portfolio.teams else {}


def gpu_toleration(portfolio: Portfolio) -> Document:
    taint = portfolio.cluster.gpu_taint
    return {"key": taint.key, "operator": "Exists", "effect": taint.effect}


def restricted_container_security() -> Document:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security() -> Document:
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def service_account(name: str, *, namespace: str, labels: dict[str, str], wave: str) -> Document:
    """A ServiceAccount of its own for a Job that calls no Kubernetes API: no token is mounted."""
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(name, namespace=namespace, labels=labels, wave=wave),
            "automountServiceAccountToken": False}


def job_pod(*, service_account_name: str, labels: dict[str, str], container: Document, volumes: list[Document]) -> Document:
    """A Job's pod template under the restricted Pod Security Standard, with no API token."""
    return {
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": service_account_name,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": restricted_pod_security(),
            "containers": [{**container, "securityContext": restricted_container_security()}],
            "volumes": volumes,
        },
    }


def env_list(env: dict[str, str]) -> list[Document]:
    return [{"name": key, "value": value} for key, value in env.items()]


def secret_env(name: str, secret: str, key: str, *, optional: bool = False) -> Document:
    ref: Document = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def content_named(base: str, *inputs: object) -> str:
    """`base` plus a hash of what the object runs on: a Job whose input changes gets a new name, so it runs again
    (a Job's pod template is immutable, and a finished Job never reruns), and Argo CD prunes the old one."""
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:8]
    return f"{base[:63 - 9].rstrip('-')}-{digest}"

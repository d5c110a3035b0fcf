"""Kueue objects as OpenShift AI runs them: a CPU flavor and the GPU flavors, each in its own resource group of
the ClusterQueue, and the LocalQueue the model pods join by label."""

from __future__ import annotations

from generator.model.derive import cpu_quota, flavor_node_labels
from generator.model.portfolio import Portfolio
from generator.render.common import Document, gpu_toleration, metadata

API_VERSION = "kueue.x-k8s.io/v1beta1"  # what the target cluster (Red Hat build of Kueue) serves
# Argo CD's dry run fails on a kind whose CRD the same sync installs or that is not served yet.
DEFAULT_QUEUE = "kueue.x-k8s.io/default-queue"
SKIP_DRY_RUN = {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}


def _kueue_metadata(name: str, *, namespace: str | None = None, annotations: dict[str, str] | None = None) -> Document:
    return metadata(name, namespace=namespace, annotations={**(annotations or {}), **SKIP_DRY_RUN}, wave="kueue")


def resource_flavors(portfolio: Portfolio) -> list[Document]:
    taint = portfolio.cluster.gpu_taint
    # No node labels: the CPU flavor matches any node, so a pod that asks for no GPU is never pinned to a GPU node.
    cpu = {"apiVersion": API_VERSION, "kind": "ResourceFlavor",
           "metadata": _kueue_metadata(portfolio.kueue.cpu_flavor.name), "spec": {}}
    return [cpu] + [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceFlavor",
            "metadata": _kueue_metadata(flavor.name),
            "spec": {
                "nodeLabels": flavor_node_labels(flavor),
                "nodeTaints": [{"key": taint.key, "value": taint.value, "effect": taint.effect}],
                "tolerations": [gpu_toleration(portfolio)],
            },
        }
        for flavor in portfolio.flavors
    ]


def cluster_queue(portfolio: Portfolio) -> Document:
    kueue = portfolio.kueue
    gpu = portfolio.cluster.gpu_resource
    cpu, memory = cpu_quota(portfolio)
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": _kueue_metadata(kueue.cluster_queue),
        "spec": {
            "namespaceSelector": {},
            "queueingStrategy": kueue.queueing_strategy,
            # Each group is assigned a flavor on its own: cpu and memory always get the CPU flavor, GPUs a GPU flavor.
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "memory"],
                    "flavors": [{"name": kueue.cpu_flavor.name, "resources": [
                        {"name": "cpu", "nominalQuota": cpu},
                        {"name": "memory", "nominalQuota": memory},
                    ]}],
                },
                {
                    "coveredResources": [gpu],
                    "flavors": [
                        {"name": flavor.name, "resources": [{"name": gpu, "nominalQuota": str(flavor.quota.gpus)}]}
                        for flavor in portfolio.flavors
                    ],
                },
            ],
            "preemption": {
                "withinClusterQueue": kueue.preemption.within_cluster_queue,
                "reclaimWithinCohort": kueue.preemption.reclaim_within_cohort,
            },
            "flavorFungibility": {
                "whenCanBorrow": kueue.flavor_fungibility.when_can_borrow,
                "whenCanPreempt": kueue.flavor_fungibility.when_can_preempt,
            },
        },
    }


def local_queue(portfolio: Portfolio) -> Document:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": _kueue_metadata(
            portfolio.kueue.local_queue,
            namespace=portfolio.namespace,
            annotations={DEFAULT_QUEUE: "true"} if portfolio.kueue.default_queue else None,
        ),
        "spec": {"clusterQueue": portfolio.kueue.cluster_queue},
    }


def priority_classes(portfolio: Portfolio) -> list[Document]:
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "WorkloadPriorityClass",
            "metadata": _kueue_metadata(pc.name),
            "value": pc.value,
            **({"description": pc.description} if pc.description else {}),
        }
        for pc in portfolio.kueue.priority_classes
    ]


def render_kueue(portfolio: Portfolio) -> dict[str, list[Document]]:
    files = {
        "resource-flavors.yaml": resource_flavors(portfolio),
        "cluster-queue.yaml": [cluster_queue(portfolio)],
        "local-queue.yaml": [local_queue(portfolio)],
    }
    if portfolio.kueue.priority_classes:
        files["priority-classes.yaml"] = priority_classes(portfolio)
    return files

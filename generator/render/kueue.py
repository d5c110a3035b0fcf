"""Kueue objects: one ResourceFlavor per flavor, the ClusterQueue and the LocalQueue."""

from __future__ import annotations

from generator.model.derive import flavor_node_labels
from generator.model.portfolio import Portfolio
from generator.render.common import Document, gpu_toleration, metadata

API_VERSION = "kueue.x-k8s.io/v1beta1"  # what the target cluster (Red Hat build of Kueue) serves


def resource_flavors(portfolio: Portfolio) -> list[Document]:
    taint = portfolio.cluster.gpu_taint
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceFlavor",
            "metadata": metadata(flavor.name, wave="kueue"),
            "spec": {
                "nodeLabels": flavor_node_labels(flavor, portfolio),
                "nodeTaints": [{"key": taint.key, "value": taint.value, "effect": taint.effect}],
                "tolerations": [gpu_toleration(portfolio)],
            },
        }
        for flavor in portfolio.flavors
    ]


def cluster_queue(portfolio: Portfolio) -> Document:
    kueue = portfolio.kueue
    gpu = portfolio.cluster.gpu_resource
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": metadata(kueue.cluster_queue, wave="kueue"),
        "spec": {
            "namespaceSelector": {},
            "queueingStrategy": kueue.queueing_strategy,
            "resourceGroups": [
                {
                    "coveredResources": [gpu, "cpu", "memory"],
                    "flavors": [
                        {
                            "name": flavor.name,
                            "resources": [
                                {"name": gpu, "nominalQuota": str(flavor.quota.gpus)},
                                {"name": "cpu", "nominalQuota": flavor.quota.cpu},
                                {"name": "memory", "nominalQuota": flavor.quota.memory},
                            ],
                        }
                        for flavor in portfolio.flavors
                    ],
                }
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
        "metadata": metadata(
            portfolio.kueue.local_queue,
            namespace=portfolio.namespace,
            annotations={"kueue.x-k8s.io/default-queue": "true"},
            wave="kueue",
        ),
        "spec": {"clusterQueue": portfolio.kueue.cluster_queue},
    }


def priority_classes(portfolio: Portfolio) -> list[Document]:
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "WorkloadPriorityClass",
            "metadata": metadata(pc.name, wave="kueue"),
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

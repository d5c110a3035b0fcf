"""Kueue objects as OpenShift AI runs them: a CPU flavor and the GPU flavors, each in its own resource group of
the ClusterQueue, and the LocalQueue the model pods join by label.

With teams, as OpenShift AI 3.4 sets Kueue up: a namespace per team labelled for Kueue, a ClusterQueue per team in
one cohort (each with its own quota, borrowing and lending limits), a LocalQueue of the same name in every team
namespace, and HardwareProfiles that submit to that LocalQueue (scheduling type Queue, no node selectors: the
ResourceFlavor places the pod)."""

from __future__ import annotations

from generator.model.derive import (
    cohort_parent,
    cpu_quota,
    fair_weight,
    flavor_node_labels,
    team_cohort,
    team_cpu_quota,
    team_namespace,
)
from generator.model.portfolio import Cohort, Portfolio, Team, TeamQuota
from generator.render.common import Document, gpu_toleration, metadata

API_VERSION = "kueue.x-k8s.io/v1beta1"  # what the target cluster (Red Hat build of Kueue) serves
COHORT_API_VERSION = "kueue.x-k8s.io/v1beta2"  # Kueue 0.16 (Red Hat build of Kueue 1.3) stores Cohorts as v1beta2
# Argo CD's dry run fails on a kind whose CRD the same sync installs or that is not served yet.
DEFAULT_QUEUE = "kueue.x-k8s.io/default-queue"
SKIP_DRY_RUN = {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}
KUEUE_MANAGED = "kueue.openshift.io/managed"
# Removing a team from the portfolio must not delete its namespace, and everything in it, on the next sync.
KEEP_ON_PRUNE = {"argocd.argoproj.io/sync-options": "Prune=false"}


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


def _limits(gpu: str, share: TeamQuota | None) -> Document:
    resource: Document = {"name": gpu, "nominalQuota": str(share.gpus if share else 0)}
    if share and share.borrowing_limit is not None:
        resource["borrowingLimit"] = str(share.borrowing_limit)
    if share and share.lending_limit is not None:
        resource["lendingLimit"] = str(share.lending_limit)
    return resource


def _gpu_resource(portfolio: Portfolio, flavor: str, team: Team | None) -> Document:
    gpu = portfolio.cluster.gpu_resource
    if team is None:
        quota = next(f.quota.gpus for f in portfolio.flavors if f.name == flavor)
        return {"name": gpu, "nominalQuota": str(quota)}
    return _limits(gpu, next((q for q in team.quota if q.flavor == flavor), None))


def cluster_queue(portfolio: Portfolio, team: Team | None = None) -> Document:
    """The one ClusterQueue, or a team's: its quota, in the cohort the teams share."""
    kueue = portfolio.kueue
    gpu = portfolio.cluster.gpu_resource
    cpu, memory = cpu_quota(portfolio) if team is None else team_cpu_quota(team, portfolio)
    preemption: Document = {
        "withinClusterQueue": kueue.preemption.within_cluster_queue,
        "reclaimWithinCohort": kueue.preemption.reclaim_within_cohort,
    }
    borrow = kueue.preemption.borrow_within_cohort
    if borrow is not None:
        preemption["borrowWithinCohort"] = {"policy": borrow.policy, **(
            {"maxPriorityThreshold": borrow.max_priority_threshold} if borrow.max_priority_threshold is not None else {})}
    spec: Document = {"cohort": team_cohort(team, portfolio)} if team is not None else {}
    fair: Document = {"fairSharing": {"weight": fair_weight(team.weight)}} if team and team.weight is not None else {}
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": _kueue_metadata(kueue.cluster_queue if team is None else team.name),
        "spec": {
            **spec,
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
                        {"name": flavor.name, "resources": [_gpu_resource(portfolio, flavor.name, team)]}
                        for flavor in portfolio.flavors
                    ],
                },
            ],
            "preemption": preemption,
            "flavorFungibility": {
                "whenCanBorrow": stored_fungibility(kueue.flavor_fungibility.when_can_borrow),
                "whenCanPreempt": stored_fungibility(kueue.flavor_fungibility.when_can_preempt),
            },
            **fair,
        },
    }


def stored_fungibility(value: str) -> str:
    """The spelling Kueue stores and reads back: Borrow and Preempt convert one way to MayStopSearch
    (kueue apis/kueue/v1beta1/clusterqueue_conversion.go), so writing them keeps the ClusterQueue out of sync."""
    return "MayStopSearch" if value in ("Borrow", "Preempt") else value


def cohort(portfolio: Portfolio, node: Cohort) -> Document:
    """An organisation's Cohort: its parent, the GPUs it holds itself (with its subtree's lending and borrowing limits)
    and its fair-sharing weight."""
    spec: Document = {}
    parent = cohort_parent(node, portfolio)
    if parent:
        spec["parentName"] = parent
    groups = []
    if any(q.gpus for q in node.quota):  # a pool of GPUs comes with its nodes' cpu and memory
        cpu, memory = team_cpu_quota(node, portfolio)
        groups.append({"coveredResources": ["cpu", "memory"], "flavors": [{"name": portfolio.kueue.cpu_flavor.name,
                       "resources": [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": memory}]}]})
    if node.quota:
        groups.append({
            "coveredResources": [portfolio.cluster.gpu_resource],
            "flavors": [{"name": q.flavor, "resources": [_limits(portfolio.cluster.gpu_resource, q)]} for q in node.quota],
        })
    if groups:
        spec["resourceGroups"] = groups
    if node.weight is not None:
        spec["fairSharing"] = {"weight": fair_weight(node.weight)}
    return {"apiVersion": COHORT_API_VERSION, "kind": "Cohort", "metadata": _kueue_metadata(node.name), "spec": spec}


def local_queue(portfolio: Portfolio, team: Team | None = None) -> Document:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": _kueue_metadata(
            portfolio.kueue.local_queue,
            namespace=portfolio.namespace if team is None else team_namespace(team),
            annotations={DEFAULT_QUEUE: "true"} if portfolio.kueue.default_queue else None,
        ),
        "spec": {"clusterQueue": portfolio.kueue.cluster_queue if team is None else team.name},
    }


def team_namespaces(portfolio: Portfolio) -> list[Document]:
    """A dashboard project per team that Kueue manages: every pod in it is queued."""
    return [{
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(name, labels={KUEUE_MANAGED: "true", "opendatahub.io/dashboard": "true"},
                             annotations=KEEP_ON_PRUNE, wave="kueue"),
    } for name in dict.fromkeys(team_namespace(t) for t in portfolio.teams)]


def hardware_profiles(portfolio: Portfolio) -> list[Document]:
    """One profile per flavor, named like it, that queues the pod in the namespace's LocalQueue."""
    gpu = portfolio.cluster.gpu_resource
    profiles = []
    for flavor in portfolio.flavors:
        profiles.append({
            "apiVersion": "infrastructure.opendatahub.io/v1",
            "kind": "HardwareProfile",
            "metadata": metadata(flavor.name, namespace=portfolio.cluster.hardware_profile_namespace,
                                 annotations={"opendatahub.io/display-name": f"{flavor.name} ({flavor.instance_type})",
                                              **SKIP_DRY_RUN}, wave="kueue"),
            "spec": {
                "identifiers": [
                    {"identifier": "cpu", "displayName": "CPU", "resourceType": "CPU", "minCount": 1,
                     "defaultCount": 1, "maxCount": flavor.cpu_per_node},
                    {"identifier": "memory", "displayName": "Memory", "resourceType": "Memory", "minCount": "1Gi",
                     "defaultCount": "1Gi", "maxCount": flavor.memory_per_node},
                    {"identifier": gpu, "displayName": "GPU", "resourceType": "Accelerator", "minCount": 1,
                     "defaultCount": 1, "maxCount": flavor.gpus_per_node},
                ],
                "scheduling": {"type": "Queue", "kueue": {"localQueueName": portfolio.kueue.local_queue}},
            },
        })
    return profiles


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
    if portfolio.teams:
        files = {
            "namespaces.yaml": team_namespaces(portfolio),
            "resource-flavors.yaml": resource_flavors(portfolio),
            **({"cohorts.yaml": [cohort(portfolio, c) for c in portfolio.cohorts]} if portfolio.cohorts else {}),
            "cluster-queues.yaml": [cluster_queue(portfolio, team) for team in portfolio.teams],
            "local-queues.yaml": [local_queue(portfolio, team) for team in portfolio.teams],
            "hardware-profiles.yaml": hardware_profiles(portfolio),
        }
    else:
        files = {
            "resource-flavors.yaml": resource_flavors(portfolio),
            "cluster-queue.yaml": [cluster_queue(portfolio)],
            "local-queue.yaml": [local_queue(portfolio)],
        }
    if portfolio.kueue.priority_classes:
        files["priority-classes.yaml"] = priority_classes(portfolio)
    return files

"""Kueue's own scheduler, preemption and flavor-assigner test tables, translated by hand into the simulator's terms.

Source: kubernetes-sigs/kueue at tag v0.16.1 (the version the control plane in a box pins). Every entry of each
table is here, once: either translated (a case the simulator must pass) or listed as not modelled, with the
reason. `UPSTREAM` counts the entries of each table at that tag, so a missing entry is a failing test.

The notation mirrors Kueue's test builders: `cq("name", [fq("flavor", cpu=("6", "6"))], cohort="c")` is
MakeClusterQueue("name").Cohort("c").ResourceGroup(MakeFlavorQuotas("flavor").Resource(cpu, "6", "6")), a
resource given as nominal, (nominal, borrowingLimit) or (nominal, borrowingLimit, lendingLimit), None or "" for a
limit left unset. `wl("name", "cq", cpu="2", prio=-1, on="default", at=0)` is a workload of ClusterQueue cq
requesting 2 cpu, running on flavor default since time 0 (without `on`, it is pending). A workload's requests are
its pod sets' totals (count times the per-pod request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from generator.admission.kueue import Workload, quantity

REPO = "kubernetes-sigs/kueue"
TAG = "v0.16.1"
SOURCES = {
    "TestSchedule": "pkg/scheduler/scheduler_test.go",
    "TestPreemption": "pkg/scheduler/preemption/preemption_test.go",
    "TestCandidatesOrdering": "pkg/scheduler/preemption/preemption_test.go",
    "TestHierarchicalPreemptions": "pkg/scheduler/preemption/preemption_hierarchical_test.go",
    "TestFairPreemptions": "pkg/scheduler/preemption/preemption_fair_test.go",
    "TestAssignFlavors": "pkg/scheduler/flavorassigner/flavorassigner_test.go",
    "TestReclaimBeforePriorityPreemption": "pkg/scheduler/flavorassigner/flavorassigner_test.go",
    "TestHierarchical": "pkg/scheduler/flavorassigner/flavorassigner_test.go",
    "TestIsPreferred": "pkg/scheduler/flavorassigner/flavorassigner_test.go",
    "TestDeletedFlavors": "pkg/scheduler/flavorassigner/flavorassigner_test.go",
    "TestResourcesToReserve": "pkg/scheduler/scheduler_test.go",
    "TestDominantResourceShare": "pkg/cache/scheduler/fair_sharing_test.go",
}
# Entries of each table at the tag (counted in the source).
UPSTREAM = {
    "TestSchedule": 68,
    "TestPreemption": 36,
    "TestCandidatesOrdering": 6,
    "TestHierarchicalPreemptions": 15,
    "TestFairPreemptions": 30,
    "TestAssignFlavors": 56,
    "TestReclaimBeforePriorityPreemption": 6,
    "TestHierarchical": 2,
    "TestIsPreferred": 4,
    "TestDeletedFlavors": 2,
    "TestResourcesToReserve": 6,
    "TestDominantResourceShare": 15,
}

RESOURCES = {"cpu": "cpu", "memory": "memory", "gpu": "example.com/gpu", "pods": "pods"}
Limit = str | int | None


def _resource(name: str, value: Limit | tuple[Limit, ...]) -> dict[str, Any]:
    nominal, borrowing, lending = (tuple(value) + (None, None))[:3] if isinstance(value, tuple) else (value, None, None)
    out: dict[str, Any] = {"name": RESOURCES.get(name, name), "nominalQuota": str(nominal)}
    if borrowing not in (None, ""):
        out["borrowingLimit"] = str(borrowing)
    if lending not in (None, ""):
        out["lendingLimit"] = str(lending)
    return out


def fq(flavor: str, **resources: Limit | tuple[Limit, ...]) -> dict[str, Any]:
    """MakeFlavorQuotas(flavor).Resource(...)..."""
    return {"name": flavor, "resources": [_resource(n, v) for n, v in resources.items()]}


def _groups(groups: tuple[list[dict[str, Any]], ...]) -> list[dict[str, Any]]:
    return [{"coveredResources": [r["name"] for r in flavors[0]["resources"]], "flavors": flavors} for flavors in groups]


def cq(name: str, *groups: list[dict[str, Any]], cohort: str | None = None, within: str | None = None,
       reclaim: str | None = None, borrow_within: str | None = None, threshold: int | None = None,
       strategy: str | None = None, when_borrow: str | None = None, when_preempt: str | None = None,
       preference: str | None = None, weight: str | int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"resourceGroups": _groups(groups)}
    if cohort:
        spec["cohortName"] = cohort
    if strategy:
        spec["queueingStrategy"] = strategy
    preemption: dict[str, Any] = {}
    # "" is what Kueue's unit tests leave when they set no policy (the API server would default it to Never); it
    # matters where Kueue compares a policy with Never, as canPreemptWhileBorrowing does.
    if within is not None:
        preemption["withinClusterQueue"] = within
    if reclaim is not None:
        preemption["reclaimWithinCohort"] = reclaim
    if borrow_within:
        preemption["borrowWithinCohort"] = {"policy": borrow_within, **(
            {"maxPriorityThreshold": threshold} if threshold is not None else {})}
    if preemption:
        spec["preemption"] = preemption
    fungibility = {k: v for k, v in (("whenCanBorrow", when_borrow), ("whenCanPreempt", when_preempt),
                                     ("preference", preference)) if v}
    if fungibility:
        spec["flavorFungibility"] = fungibility
    if weight is not None:
        spec["fairSharing"] = {"weight": str(weight)}
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name}, "spec": spec}


def cohort(name: str, *groups: list[dict[str, Any]], parent: str | None = None,
           weight: str | int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if parent:
        spec["parentName"] = parent
    if groups:
        spec["resourceGroups"] = _groups(groups)
    if weight is not None:
        spec["fairSharing"] = {"weight": str(weight)}
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Cohort", "metadata": {"name": name}, "spec": spec}


def flavor(name: str, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
           tolerations: list[dict[str, str]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if labels:
        spec["nodeLabels"] = labels
    if taints:
        spec["nodeTaints"] = taints
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": name}, "spec": spec}


def flavors(*names: str) -> list[dict[str, Any]]:
    return [flavor(n) for n in names]


def wl(name: str, queue: str, *, prio: int = 0, created: int = 0, on: str | dict[str, str] | None = None,
       at: int = 0, selector: dict[str, str] | None = None, tolerations: list[dict[str, str]] | None = None,
       affinity: list[list[dict[str, Any]]] | None = None, **requests: str | int) -> Workload:
    """A workload of ClusterQueue `queue`; running on `on` (one flavor for every resource, or per resource) since
    time `at`, else pending."""
    asked = {RESOURCES.get(k, k): quantity(v) for k, v in requests.items()}
    placed = None
    if on is not None:
        placed = {r: on for r in asked} if isinstance(on, str) else {RESOURCES.get(k, k): v for k, v in on.items()}
    return Workload(name=name, cluster_queue=queue, requests=asked, priority=prio, creation=created,
                    admitted_flavors=placed, admitted_at=at if placed is not None else None,
                    node_selector=dict(selector or {}), tolerations=list(tolerations or []),
                    node_affinity=list(affinity or []))


def usage(**pairs: str | int) -> dict[tuple[str, str], Decimal]:
    """usage(cpu_default="3") -> {("default", "cpu"): 3}; the resource's short name, then the flavor."""
    out = {}
    for key, value in pairs.items():
        res, _, fl = key.partition("_")
        out[(fl, RESOURCES.get(res, res))] = quantity(value)
    return out


def held(queue: str, amounts: dict[tuple[str, str], str | int]) -> list[Workload]:
    """A ClusterQueue's usage given as amounts per (flavor, resource), as Kueue's tables add it to a snapshot: one
    running workload per pair."""
    return [wl(f"{queue}-holds-{fl}-{res}", queue, on=fl, **{res: value}) for (fl, res), value in amounts.items()]


@dataclass(frozen=True)
class NotModelled:
    test: str
    name: str
    reason: str  # one of REASONS


@dataclass(frozen=True)
class Preemption:
    """Preemptor.GetTargets on an assignment: which running workloads it evicts, and why (Kueue's reason)."""

    test: str
    name: str
    queues: list[dict[str, Any]]
    running: list[Workload]
    incoming: Workload
    assignment: dict[str, tuple[str, str]]  # resource -> (flavor, "Preempt" | "Fit")
    want: dict[str, str]  # victim -> reason
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    fair: bool = False
    strategies: tuple[str, ...] | None = None
    flavors: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[tuple[str, str], Decimal] | None = None  # when pod sets put one resource on two flavors
    needed: frozenset[tuple[str, str]] | None = None  # with `usage`: the pairs needing preemption (default: all)


@dataclass(frozen=True)
class Assign:
    """flavorassigner.Assign: the mode, flavors and borrowing distance a pending workload gets now."""

    test: str
    name: str
    queues: list[dict[str, Any]]
    incoming: Workload
    mode: str  # Fit | Preempt | NoFit
    flavors_want: dict[str, str] = field(default_factory=dict)  # resource -> flavor
    borrowing: int | None = 0  # None where the table does not say
    running: list[Workload] = field(default_factory=list)
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    flavors: list[dict[str, Any]] = field(default_factory=list)
    fair: bool = False
    preempting: tuple[str, ...] | None = None  # resources whose flavor needs preemption, when the table says
    victims: tuple[str, ...] | None = None  # when the table says who would be preempted
    # Kueue's flavor-assigner tables stub the preemption oracle: (flavor, resource) -> (possibility, borrowing after),
    # ("Preempt", 0) for any other pair; None runs the simulator's own preemptor.
    oracle: dict[tuple[str, str], tuple[str, int]] | None = field(default_factory=dict)
    tried: dict[str, int] | None = None  # the last flavor index tried per resource (-1: start over next time)


@dataclass(frozen=True)
class Ordering:
    """CandidatesOrdering: the order in which a preemptor of `queue` considers running workloads."""

    test: str
    name: str
    queue: str
    workloads: list[Workload]
    want: list[str]


@dataclass(frozen=True)
class Preferred:
    """isPreferred on two (mode, borrowing distance) pairs: fit, reclaim, preempt, noCandidates or noFit."""

    test: str
    name: str
    a: tuple[str, int]
    b: tuple[str, int]
    preference: str | None
    want: bool


@dataclass(frozen=True)
class Reserve:
    """resourcesToReserve: what an assignment holds for the rest of a cycle, given its queue's usage."""

    test: str
    name: str
    queue: dict[str, Any]
    running: list[Workload]
    mode: str  # Fit | Preempt
    borrowing: int
    usage: dict[tuple[str, str], Decimal]
    want: dict[tuple[str, str], Decimal]
    flavors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Schedule:
    """One or more scheduling cycles: the state of every workload afterwards."""

    test: str
    name: str
    queues: list[dict[str, Any]]
    workloads: list[Workload]
    want: dict[str, str]  # name -> "admitted:<flavor>" | "admitted:<res>=<flavor>,..." | "pending" | "preempted"
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    flavors: list[dict[str, Any]] = field(default_factory=list)
    fair: bool = False
    cycles: int | None = 1
    priority_classes: list[dict[str, Any]] = field(default_factory=list)


REASONS = {
    "podsets": "several pod sets on different flavors for one resource, or counts scaled down: the simulator's "
               "workload is one pod (Kueue's plain-pod integration), one flavor per resource",
    "partial": "partial admission (PodSet minCount): a pod is admitted whole or not at all",
    "checks": "admission checks (ProvisioningRequest, MultiKueue): the portfolio's queues have none",
    "namespace": "a ClusterQueue namespaceSelector: the portfolio's queues select every namespace",
    "slices": "elastic jobs (workload slices): a model pod's workload is never resized",
    "afs": "admission fair sharing (LocalQueue usage): not part of the simulator",
    "limits": "LimitRanges and request/limit validation happen before Kueue sees the pod",
    "feature-off": "a Kueue feature gate switched off in the test; the simulator follows the defaults of v0.16",
    "api-error": "an API error injected while admitting or preempting: the simulator has no API server",
    "evicting": "a workload already being evicted while it still holds quota: the simulator releases a victim's "
                "quota at once",
    "reclaimable": "reclaimable pods (a Job's finished pods giving back quota): a model pod does not finish",
    "transient": "a state between two of Kueue's own events (a flavor deleted after the cycle's snapshot was taken): "
                 "the simulator sees the cluster settled, where a ClusterQueue naming a missing flavor is inactive",
}


@dataclass(frozen=True)
class Share:
    """dominantResourceShare of every ClusterQueue and Cohort, as roundedWeightedShare reports it: name ->
    (weighted share per mille, rounded up, or MaxInt64 for a weight of 0 that borrows; the dominant resource)."""

    test: str
    name: str
    queues: list[dict[str, Any]]
    running: list[Workload]
    extra: dict[tuple[str, str], str | int]  # a workload's requests (flvResQ), added to every node's usage
    want: dict[str, tuple[int, str]]
    cohorts: list[dict[str, Any]] = field(default_factory=list)

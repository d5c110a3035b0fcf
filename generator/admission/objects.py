"""Kueue's objects as the simulator reads them: workloads, flavors, ClusterQueues (v1beta1 or v1beta2 field
names), and what a simulation returns. KUEUE.md rules 1, 2 and 8 live here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from generator.model.quantity import parse_quantity

State = Literal["admitted", "pending", "preempted"]
SelectorRule = Literal["current", "union"]
Usage = dict[tuple[str, str], Decimal]  # (flavor, resource) -> amount, per ClusterQueue

def quantity(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, int) else parse_quantity(str(value))


def show_amount(amount: Decimal, resource: str) -> str:
    """A quantity as Kubernetes would write it: memory in the largest binary unit that holds it whole (16Gi, 12367Mi)."""
    if resource == "memory":
        for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if amount % size == 0:
                return f"{(amount / size).normalize():f}{unit}"
        return f"{amount.normalize():f}"
    return f"{amount.normalize():f}"


@dataclass
class Workload:
    """One pod's admission request (Kueue's plain-pod integration makes one workload per pod)."""

    name: str
    cluster_queue: str
    requests: dict[str, Decimal]
    node_selector: dict[str, str] = field(default_factory=dict)
    node_affinity: list[list[dict[str, Any]]] = field(default_factory=list)  # OR of terms; AND inside
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    priority: int = 0
    priority_class: str | None = None  # a WorkloadPriorityClass name (label kueue.x-k8s.io/priority-class)
    creation: int = 0
    admitted_flavors: dict[str, str] | None = None  # resource -> flavor, for a workload already running
    admitted_at: int | None = None
    # Evicted, a Workload object (a Job's) keeps its queue-order timestamp; a plain pod is deleted instead, and the
    # pod its ReplicaSet creates in its place is a new workload, queued as the newest.
    replaced_on_eviction: bool = False


@dataclass(frozen=True)
class FairSharing:
    """The Kueue Configuration's fairSharing (a cluster setting: on the Red Hat build of Kueue, the Kueue object's
    spec.config.preemption.preemptionPolicy FairSharing)."""

    preemption_strategies: tuple[str, ...] = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


@dataclass
class Outcome:
    name: str
    cluster_queue: str
    state: State
    flavors: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    preempted_by: str | None = None
    admitted_at: int | None = None
    queued_at: int | None = None  # its queue-order timestamp at the end (creation order; kept across an eviction)


@dataclass
class CohortState:
    """A cohort of the tree after the simulation, per (flavor, resource): its own quota, its subtree quota (Kueue's:
    its own and what its members lend it), what the ClusterQueues under it use, and the nominal quota of every
    ClusterQueue and Cohort under it, its own included."""

    name: str
    parent: str | None
    quota: Usage
    subtree: Usage
    used: Usage
    holds: Usage = field(default_factory=dict)


@dataclass
class Result:
    outcomes: dict[str, Outcome]
    usage: dict[str, Usage]
    nominal: dict[str, Usage]
    preemptions: list[tuple[str, str]] = field(default_factory=list)  # (victim, preemptor), in the order they happened
    # When Kueue's rules make workloads preempt each other in a ring: the preemptions of one turn of it.
    loop: list[tuple[str, str]] = field(default_factory=list)
    cohorts: dict[str, CohortState] = field(default_factory=dict)

    def admitted(self) -> list[str]:
        return [n for n, o in self.outcomes.items() if o.state == "admitted"]


@dataclass(frozen=True)
class Flavor:
    name: str
    node_labels: Mapping[str, str]
    node_taints: tuple[Mapping[str, Any], ...]
    tolerations: tuple[Mapping[str, Any], ...]


@dataclass
class Quota:
    nominal: Decimal
    borrowing_limit: Decimal | None = None
    lending_limit: Decimal | None = None


@dataclass
class ResourceGroup:
    covered: list[str]
    flavors: list[str]


def _quotas(spec: Mapping[str, Any]) -> tuple[list[ResourceGroup], dict[tuple[str, str], Quota]]:
    groups, quotas = [], {}
    for group in spec.get("resourceGroups") or []:
        names = [f["name"] for f in group.get("flavors") or []]
        groups.append(ResourceGroup(list(group.get("coveredResources") or []), names))
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                quotas[(flavor["name"], res["name"])] = Quota(
                    quantity(res.get("nominalQuota", 0)),
                    quantity(res["borrowingLimit"]) if res.get("borrowingLimit") is not None else None,
                    quantity(res["lendingLimit"]) if res.get("lendingLimit") is not None else None,
                )
    return groups, quotas


def _weight(spec: Mapping[str, Any]) -> float:
    """spec.fairSharing.weight (a quantity; 1 by default)."""
    weight = (spec.get("fairSharing") or {}).get("weight")
    return 1.0 if weight is None else float(quantity(weight))


@dataclass
class ClusterQueue:
    name: str
    cohort: str | None
    groups: list[ResourceGroup]
    quotas: dict[tuple[str, str], Quota]
    strategy: str
    within: str
    reclaim: str
    borrow_stops: bool
    preempt_stops: bool
    borrow_within_cohort: str = "Never"  # preemption.borrowWithinCohort.policy: Never | LowerPriority
    borrow_threshold: int | None = None  # preemption.borrowWithinCohort.maxPriorityThreshold
    preference: str | None = None  # flavorFungibility.preference: BorrowingOverPreemption | PreemptionOverBorrowing
    weight: float = 1.0  # spec.fairSharing.weight

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> ClusterQueue:
        spec = doc.get("spec") or {}
        groups, quotas = _quotas(spec)
        preemption = spec.get("preemption") or {}
        fungibility = spec.get("flavorFungibility") or {}
        borrow_within = preemption.get("borrowWithinCohort") or {}
        return cls(
            name=doc["metadata"]["name"],
            cohort=spec.get("cohort") or spec.get("cohortName"),  # v1beta1 / v1beta2
            groups=groups,
            quotas=quotas,
            strategy=spec.get("queueingStrategy", "BestEffortFIFO"),
            within=preemption.get("withinClusterQueue", "Never"),
            reclaim=preemption.get("reclaimWithinCohort", "Never"),
            # v1beta1 spells MayStopSearch as Borrow / Preempt.
            borrow_stops=fungibility.get("whenCanBorrow", "MayStopSearch") in ("MayStopSearch", "Borrow"),
            preempt_stops=fungibility.get("whenCanPreempt", "TryNextFlavor") in ("MayStopSearch", "Preempt"),
            borrow_within_cohort=borrow_within.get("policy", "Never"),
            borrow_threshold=borrow_within.get("maxPriorityThreshold"),
            preference=fungibility.get("preference"),
            weight=_weight(spec),
        )


@dataclass
class Cohort:
    """A Cohort object (kueue.x-k8s.io v1beta1 or v1beta2): quota of its own, a parent, a fair-sharing weight."""

    name: str
    parent: str | None
    quotas: dict[tuple[str, str], Quota]
    weight: float = 1.0

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> Cohort:
        spec = doc.get("spec") or {}
        return cls(doc["metadata"]["name"], spec.get("parentName") or None, _quotas(spec)[1], _weight(spec))


def flavor_from_manifest(doc: Mapping[str, Any]) -> Flavor:
    spec = doc.get("spec") or {}
    return Flavor(doc["metadata"]["name"], dict(spec.get("nodeLabels") or {}),
                  tuple(spec.get("nodeTaints") or ()), tuple(spec.get("tolerations") or ()))


def pod_requests(pod_spec: Mapping[str, Any]) -> dict[str, Decimal]:
    """Rule 1: containers plus restartable sidecars, or the largest init container if larger; plus overhead."""
    def of(container: Mapping[str, Any]) -> dict[str, Decimal]:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        return {name: quantity(value) for name, value in merged.items()}

    def add(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
        return {k: a.get(k, Decimal(0)) + b.get(k, Decimal(0)) for k in sorted(a.keys() | b.keys())}

    total: dict[str, Decimal] = {}
    for container in pod_spec.get("containers") or []:
        total = add(total, of(container))
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}
    for init in pod_spec.get("initContainers") or []:
        if init.get("restartPolicy") == "Always":
            sidecars = add(sidecars, of(init))
        else:
            running = add(sidecars, of(init))
            init_peak = {k: max(init_peak.get(k, Decimal(0)), running.get(k, Decimal(0)))
                         for k in sorted(init_peak.keys() | running.keys())}
    steady = add(total, sidecars)
    result = {k: max(steady.get(k, Decimal(0)), init_peak.get(k, Decimal(0))) for k in sorted(steady.keys() | init_peak.keys())}
    return add(result, {k: quantity(v) for k, v in (pod_spec.get("overhead") or {}).items()})


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for tol in tolerations:
        operator = tol.get("operator", "Equal")
        key_ok = tol.get("key", "") in ("", taint.get("key")) if operator == "Exists" else tol.get("key") == taint.get("key")
        value_ok = operator == "Exists" or tol.get("value", "") == taint.get("value", "")
        effect_ok = tol.get("effect", "") in ("", taint.get("effect"))
        if key_ok and value_ok and effect_ok:
            return True
    return False


def expression_holds(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A node-selector requirement against a flavor's labels (an unknown operator does not reject)."""
    key, op, values = str(expr.get("key", "")), expr.get("operator"), list(expr.get("values") or [])
    present = key in labels
    return {
        "In": present and labels.get(key) in values,
        "NotIn": not present or labels.get(key) not in values,
        "Exists": present,
        "DoesNotExist": not present,
    }.get(str(op), True)



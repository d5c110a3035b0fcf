"""Admission of the portfolio's models, simulated on the manifests Argo CD will apply.

`Cluster` holds the model pods the way the cluster would: it starts at the baseline (active
models), then takes steps (enable, disable, update) and re-runs the Kueue simulator after each,
keeping the flavors of pods that are already running; then the scheduler's part: each admitted pod
needs a node of its flavor with room (`generator.admission.nodes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from generator.admission.kueue import Result, SelectorRule, Workload, pod_requests, quantity, simulate
from generator.admission.nodes import NodePool, Nodes
from generator.admission.pods import predictor_pod_spec
from generator.model.derive import GPU_PRESENT_LABEL, INSTANCE_TYPE_LABEL
from generator.model.portfolio import Portfolio
from generator.render.common import Tree

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"


@dataclass(frozen=True)
class KueueObjects:
    flavors: list[dict[str, Any]]
    cluster_queues: list[dict[str, Any]]
    priority_classes: list[dict[str, Any]]
    local_queues: dict[tuple[str, str], str]  # (namespace, name) -> ClusterQueue
    services: dict[str, dict[str, Any]]  # InferenceService name -> document
    cohorts: list[dict[str, Any]] = field(default_factory=list)


def kueue_objects(tree: Tree) -> KueueObjects:
    docs = [doc for documents in tree.values() for doc in documents]

    def kind(name: str) -> list[dict[str, Any]]:
        return [d for d in docs if d.get("kind") == name]

    return KueueObjects(
        flavors=kind("ResourceFlavor"),
        cluster_queues=kind("ClusterQueue"),
        priority_classes=kind("WorkloadPriorityClass"),
        local_queues={(d["metadata"].get("namespace", ""), d["metadata"]["name"]): d["spec"]["clusterQueue"]
                      for d in kind("LocalQueue")},
        services={d["metadata"]["name"]: d for d in kind("InferenceService")},
        cohorts=kind("Cohort"),
    )


def model_workload(service: dict[str, Any], objects: KueueObjects, *, name: str, creation: int) -> Workload:
    """The workload Kueue creates for one predictor pod of an InferenceService."""
    meta, predictor = service["metadata"], service["spec"]["predictor"]
    labels = meta.get("labels") or {}
    queue = objects.local_queues.get((meta.get("namespace", ""), labels.get(QUEUE_LABEL, "")), "")
    affinity = (((predictor.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    return Workload(
        name=name,
        cluster_queue=queue,
        requests=pod_requests(predictor_pod_spec(service)),  # the model container (generator.admission.pods)
        node_selector=dict(predictor.get("nodeSelector") or {}),
        node_affinity=[list(t.get("matchExpressions") or []) for t in affinity.get("nodeSelectorTerms") or []],
        tolerations=list(predictor.get("tolerations") or []),
        priority=int(predictor.get("priority") or 0),
        priority_class=labels.get(PRIORITY_LABEL),
        creation=creation,
        replaced_on_eviction=True,  # a preempted predictor pod is deleted; its ReplicaSet creates a new one
    )


def strategy_of(service: dict[str, Any]) -> str:
    return ((service["spec"]["predictor"].get("deploymentStrategy") or {}).get("type")) or "RollingUpdate"


def node_pools(portfolio: Portfolio, objects: KueueObjects) -> list[NodePool]:
    """The GPU nodes of each flavor, labelled as its ResourceFlavor selects them and tainted as the portfolio says."""
    labels = {f["metadata"]["name"]: dict((f.get("spec") or {}).get("nodeLabels") or {}) for f in objects.flavors}
    taint = portfolio.cluster.gpu_taint
    return [NodePool(
        # What a GPU node carries: its instance type (cloud provider), GPU feature discovery's label, and the labels
        # its flavor selects (KUEUE003 warns about labels that never reach a node).
        flavor=f.name, count=f.nodes,
        labels={INSTANCE_TYPE_LABEL: f.instance_type, GPU_PRESENT_LABEL: "true", **labels.get(f.name, {})},
        taints=({"key": taint.key, "value": taint.value, "effect": taint.effect},),
        allocatable={portfolio.cluster.gpu_resource: Decimal(f.gpus_per_node), "cpu": quantity(f.cpu_per_node),
                     "memory": quantity(f.memory_per_node)},
    ) for f in portfolio.flavors]


@dataclass
class ModelState:
    name: str
    gpus: int
    state: str  # admitted | unschedulable | pending | preempted | off
    flavor: str | None = None
    reason: str = ""
    node: str | None = None
    team: str | None = None


@dataclass
class QuotaUse:
    queue: str
    flavor: str
    resource: str
    used: Decimal
    nominal: Decimal


@dataclass
class CohortUse:
    cohort: str
    parent: str | None
    flavor: str
    resource: str
    used: Decimal  # by the ClusterQueues under it
    quota: Decimal  # its own
    subtree: Decimal  # its own and what the teams and cohorts under it lend it (Kueue's subtree quota)
    holds: Decimal = Decimal(0)  # the nominal quota of every team and cohort under it, its own included


@dataclass
class Snapshot:
    models: list[ModelState]
    quota: list[QuotaUse]
    notes: list[str] = field(default_factory=list)
    cohorts: list[CohortUse] = field(default_factory=list)
    _index: dict[str, ModelState] = field(default_factory=dict, repr=False, compare=False)

    def model(self, name: str) -> ModelState:
        if len(self._index) != len(self.models):
            self._index = {m.name: m for m in self.models}
        return self._index[name]


class Cluster:
    """The model pods of a portfolio and their admission, step by step."""

    def __init__(self, portfolio: Portfolio, tree: Tree, *, selector_rule: SelectorRule = "current",
                 start: Sequence[str] | None = None) -> None:
        self.portfolio = portfolio
        self.selector_rule = selector_rule
        self.objects = kueue_objects(tree)
        self.gpu = portfolio.cluster.gpu_resource
        self.pods: dict[str, Workload] = {}  # pod name -> workload; a model's pod is named after it
        self.nodes = Nodes(node_pools(portfolio, self.objects))
        self.unschedulable: dict[str, str] = {}  # admitted pod -> why no node holds it
        self.clock = 0
        self.notes: list[str] = []
        self.result: Result | None = None
        self.apply(enable=list(start) if start is not None else [m.name for m in portfolio.models if m.state == "active"])

    def _new_pod(self, model: str, pod: str | None = None) -> None:
        self.clock += 1
        self.pods[pod or model] = model_workload(self.objects.services[model], self.objects,
                                                 name=pod or model, creation=self.clock)

    def apply(self, *, enable: Sequence[str] = (), disable: Sequence[str] = (), update: Sequence[str] = (),
              strategy: str | None = None) -> Snapshot:
        self.notes = []
        for name in disable:
            for pod in (name, f"{name}@new"):
                self.pods.pop(pod, None)
                self.nodes.release(pod)
        for name in enable:
            if name not in self.pods:
                self._new_pod(name)
        for name in update:
            how = strategy or strategy_of(self.objects.services[name])
            self.pods.pop(f"{name}@new", None)  # a new rollout replaces one still in flight
            if name not in self.pods:
                continue
            if how == "Recreate":
                del self.pods[name]  # the old pod goes first, releasing its quota and its node
                self.nodes.release(name)
                self._new_pod(name)
            else:
                self._new_pod(name, f"{name}@new")
        self._settle()
        return self.snapshot()

    def _settle(self) -> None:
        self.result = simulate(flavors=self.objects.flavors, cluster_queues=self.objects.cluster_queues,
                               workloads=list(self.pods.values()), priority_classes=self.objects.priority_classes,
                               selector_rule=self.selector_rule, cohorts=self.objects.cohorts,
                               fair_sharing=self.portfolio.kueue.fair_sharing)
        for name, outcome in self.result.outcomes.items():
            pod = self.pods[name]
            pod.admitted_flavors = dict(outcome.flavors) if outcome.state == "admitted" else None
            pod.admitted_at = outcome.admitted_at
            if pod.replaced_on_eviction and outcome.queued_at is not None:
                # A preempted pod was replaced by its ReplicaSet: the next step queues the new pod, created then
                # (found by the differential run: Kueue admitted an older pending pod before the replacement).
                pod.creation = outcome.queued_at
        self.clock = max([self.clock, *(pod.creation for pod in self.pods.values())])
        self._schedule()
        # A rolling update finishes when the new pod runs: the old one is then removed.
        for name in [n for n in self.pods if n.endswith("@new")]:
            model = name.removesuffix("@new")
            if self.pods[name].admitted_flavors and name not in self.unschedulable:
                new = self.pods.pop(name)
                self.nodes.release(model)
                new.name = model
                self.pods[model] = new
                if name in self.nodes.holders:
                    self.nodes.holders[model] = self.nodes.holders.pop(name)
                self._settle()
                return
            self.notes.append(f"{model}: rolling update deadlocked: the new pod waits for quota the old pod holds; "
                              "use deploymentStrategy Recreate")

    def _schedule(self) -> None:
        """Place admitted pods on nodes in admission order; evicted and pending pods hold no node."""
        flavors = {f["metadata"]["name"]: f.get("spec") or {} for f in self.objects.flavors}
        pooled = {pool.flavor for pool in self.nodes.pools}
        for name, pod in self.pods.items():
            if not pod.admitted_flavors:
                self.nodes.release(name)
        self.unschedulable = {}
        admitted = sorted((p for p in self.pods.values() if p.admitted_flavors), key=lambda p: (p.admitted_at or 0, p.name))
        for pod in admitted:
            held = pod.admitted_flavors or {}
            node_flavors = [f for f in dict.fromkeys(held.values()) if f in pooled]
            if not node_flavors:
                continue  # no GPU flavor: the pod runs on nodes the portfolio does not describe
            selector = dict(pod.node_selector)
            tolerations = list(pod.tolerations)
            for flavor in dict.fromkeys(held.values()):
                selector.update((flavors.get(flavor) or {}).get("nodeLabels") or {})
                tolerations += list((flavors.get(flavor) or {}).get("tolerations") or [])
            placement = self.nodes.place(pod.name, pod.requests, selector, tolerations, flavor=node_flavors[0])
            if placement.node is None:
                self.unschedulable[pod.name] = placement.reason

    def snapshot(self) -> Snapshot:
        assert self.result is not None
        outcomes = self.result.outcomes
        models = []
        for model in self.portfolio.models:
            pod = f"{model.name}@new" if f"{model.name}@new" in outcomes else model.name
            outcome = outcomes.get(pod)
            if outcome is None:
                models.append(ModelState(model.name, model.gpus, "off", team=model.team))
                continue
            reason, state = outcome.reason, str(outcome.state)
            if pod in self.unschedulable:
                state, reason = "unschedulable", f"admitted by Kueue, unschedulable: {self.unschedulable[pod]}"
            if pod.endswith("@new"):
                reason = f"rolling update: new pod {state}: {reason} (old pod still holds its quota)"
            held = self.nodes.holders.get(pod)
            models.append(ModelState(model.name, model.gpus, state, outcome.flavors.get(self.gpu), reason,
                                     held[0].name if held else None, model.team))
        quota = []
        for queue in self.objects.cluster_queues:
            name = queue["metadata"]["name"]
            for (flavor, resource), nominal in self.result.nominal[name].items():
                quota.append(QuotaUse(name, flavor, resource, self.result.usage[name].get((flavor, resource), Decimal(0)), nominal))
        return Snapshot(models, quota, list(self.notes), self._cohort_use())

    def _cohort_use(self) -> list[CohortUse]:
        """The GPUs of each declared cohort, the tree's root first."""
        assert self.result is not None
        declared = {c.name for c in self.portfolio.cohorts}
        if not declared:
            return []
        gpu, rows = self.gpu, []
        for name in _tree_order(self.result.cohorts):
            state = self.result.cohorts[name]
            if name not in declared and state.parent is not None:
                continue
            for flavor in (f.name for f in self.portfolio.flavors):
                key = (flavor, gpu)
                rows.append(CohortUse(name, state.parent, flavor, gpu, state.used.get(key, Decimal(0)),
                                      state.quota.get(key, Decimal(0)), state.subtree.get(key, Decimal(0)),
                                      state.holds.get(key, Decimal(0))))
        return rows


def _tree_order(cohorts: dict[str, Any]) -> list[str]:
    """Cohorts depth first from the roots, children by name."""
    out: list[str] = []

    def visit(name: str) -> None:
        out.append(name)
        for child in sorted(n for n, c in cohorts.items() if c.parent == name):
            visit(child)

    for root in sorted(n for n, c in cohorts.items() if c.parent is None or c.parent not in cohorts):
        visit(root)
    return out


def plan(portfolio: Portfolio, tree: Tree, *, enable: Sequence[str] = (), disable: Sequence[str] = (),
         selector_rule: SelectorRule = "current") -> Snapshot:
    """Baseline, then the given models enabled and disabled."""
    cluster = Cluster(portfolio, tree, selector_rule=selector_rule)
    if not enable and not disable:
        return cluster.snapshot()
    return cluster.apply(enable=list(enable), disable=list(disable))

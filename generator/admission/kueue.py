"""An offline Kueue admission simulator.

Give it Kueue's own objects (ResourceFlavor and ClusterQueue manifests as plain dicts, v1beta1 or
v1beta2 field names, optional WorkloadPriorityClasses) and the workloads (one per pod); it runs
admission cycles until nothing changes and returns, for every workload, whether it is admitted (and
on which flavors), pending (and why) or preempted (and by whom). The rules follow Kueue's scheduler,
flavor assigner and preemptor as summarised in KUEUE.md; nothing here knows about our portfolio.

    result = simulate(flavors=[...], cluster_queues=[...], workloads=[Workload(...), ...])
    result.outcomes["my-pod"].state  # "admitted" | "pending" | "preempted"
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from generator.model.quantity import parse_quantity

State = Literal["admitted", "pending", "preempted"]
SelectorRule = Literal["current", "union"]
Usage = dict[tuple[str, str], Decimal]  # (flavor, resource) -> amount, per ClusterQueue

# Ranks of a flavor assignment, best last (rule 5: fit > reclaim > preempt > no candidates).
NO_FIT, PREEMPT, RECLAIM, FIT = 0, 1, 2, 3


def quantity(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, int) else parse_quantity(str(value))


def show_amount(amount: Decimal, resource: str) -> str:
    if resource == "memory":
        return f"{(amount / (1 << 30)).normalize():f}Gi"
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


@dataclass
class Outcome:
    name: str
    cluster_queue: str
    state: State
    flavors: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    preempted_by: str | None = None
    admitted_at: int | None = None


@dataclass
class Result:
    outcomes: dict[str, Outcome]
    usage: dict[str, Usage]
    nominal: dict[str, Usage]

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

    @property
    def lendable(self) -> Decimal:
        return self.nominal if self.lending_limit is None else min(self.lending_limit, self.nominal)

    @property
    def guaranteed(self) -> Decimal:
        return self.nominal - self.lendable


@dataclass
class ResourceGroup:
    covered: list[str]
    flavors: list[str]


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

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> ClusterQueue:
        spec = doc.get("spec") or {}
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
        preemption = spec.get("preemption") or {}
        fungibility = spec.get("flavorFungibility") or {}
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
        )


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


def _expression_holds(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = str(expr.get("key", "")), expr.get("operator"), list(expr.get("values") or [])
    present = key in labels
    return {
        "In": present and labels.get(key) in values,
        "NotIn": not present or labels.get(key) not in values,
        "Exists": present,
        "DoesNotExist": not present,
    }.get(str(op), True)


class Simulator:
    def __init__(self, flavors: list[Flavor], queues: list[ClusterQueue], priority_values: Mapping[str, int],
                 selector_rule: SelectorRule) -> None:
        self.flavors = {f.name: f for f in flavors}
        self.queues = {q.name: q for q in queues}
        self.priority_values = priority_values
        self.selector_rule = selector_rule
        self.usage: dict[str, Usage] = {q.name: {} for q in queues}
        self.running: dict[str, Workload] = {}
        self.running_on: dict[str, dict[str, Workload]] = {}  # flavor -> running workloads using it
        self.clock = 0

    # Rule 8: the WorkloadPriorityClass named by the label wins over the pod's priority.
    def priority(self, w: Workload) -> int:
        if w.priority_class and w.priority_class in self.priority_values:
            return self.priority_values[w.priority_class]
        return w.priority

    def cohort_members(self, queue: ClusterQueue) -> list[ClusterQueue]:
        if not queue.cohort:
            return [queue]
        return [q for q in self.queues.values() if q.cohort == queue.cohort]

    # Rule 3: taints, then selector and required affinity against the flavor's labels.
    def flavor_rejection(self, w: Workload, flavor_name: str, group: ResourceGroup) -> str | None:
        flavor = self.flavors.get(flavor_name)
        if flavor is None:
            return f"flavor {flavor_name} has no ResourceFlavor"
        for taint in flavor.node_taints:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates([*w.tolerations, *flavor.tolerations], taint):
                return f"{flavor_name}: untolerated taint {taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"
        if self.selector_rule == "union":
            keys = {k for name in group.flavors if name in self.flavors for k in self.flavors[name].node_labels}
        else:
            keys = set(flavor.node_labels)
        for key, value in w.node_selector.items():
            if key in keys and flavor.node_labels.get(key) != value:
                return f"{flavor_name}: nodeSelector {key}={value} does not match the flavor's node labels"
        if w.node_affinity:
            relevant = [[e for e in term if e.get("key") in keys] for term in w.node_affinity]
            if not any(all(_expression_holds(e, flavor.node_labels) for e in term) for term in relevant):
                return f"{flavor_name}: required node affinity does not match the flavor's node labels"
        return None

    # Rule 4: what a queue may still take of (flavor, resource), with its cohort.
    def available(self, queue: ClusterQueue, key: tuple[str, str], usage: dict[str, Usage]) -> tuple[Decimal, Decimal]:
        """(available now, the most that could ever be available)."""
        quota = queue.quotas.get(key)
        if quota is None:
            return Decimal(0), Decimal(0)
        used = usage[queue.name].get(key, Decimal(0))
        if not queue.cohort:
            return max(Decimal(0), quota.nominal - used), quota.nominal
        members = [q for q in self.cohort_members(queue) if key in q.quotas]
        pool = sum((q.quotas[key].lendable for q in members), Decimal(0))
        pool_used = sum((max(Decimal(0), usage[q.name].get(key, Decimal(0)) - q.quotas[key].guaranteed) for q in members), Decimal(0))
        ceiling = quota.guaranteed + pool
        if quota.borrowing_limit is not None:
            ceiling = min(ceiling, quota.nominal + quota.borrowing_limit)
        own = max(Decimal(0), quota.guaranteed - used)
        now = min(own + max(Decimal(0), pool - pool_used), ceiling - used)
        return max(Decimal(0), now), ceiling

    def fit(self, w: Workload, queue: ClusterQueue, flavor: str, resources: list[str],
            usage: dict[str, Usage]) -> tuple[bool, bool, str | None, bool]:
        """(fits now, needs borrowing, reason when not, could ever fit)."""
        borrow, reason, possible = False, None, True
        for res in resources:
            need = w.requests[res]
            key = (flavor, res)
            if key not in queue.quotas:
                return False, False, f"{res} has no quota in {flavor}", False
            now, ceiling = self.available(queue, key, usage)
            used = usage[queue.name].get(key, Decimal(0))
            if need > ceiling:
                possible = False
            if need > now and reason is None:
                reason = (f"{res} in {flavor}: {show_amount(used, res)} used of "
                          f"{show_amount(queue.quotas[key].nominal, res)}, needs {show_amount(need, res)}")
            if used + need > queue.quotas[key].nominal:
                borrow = True
        return reason is None, borrow, reason, possible

    # Rule 7: candidates in order, removed until the preemptor fits, then the unneeded given back.
    def victims(self, w: Workload, queue: ClusterQueue, flavor: str, resources: list[str]) -> tuple[list[Workload], bool] | None:
        if queue.within == "Never" and (queue.reclaim == "Never" or not queue.cohort):
            return None  # no policy lets this queue preempt anyone
        keys = {(flavor, r) for r in resources}
        mine = self.priority(w)
        candidates = []
        for other in self.running_on.get(flavor, {}).values():
            used_keys = {(f, r) for r, f in (other.admitted_flavors or {}).items()} & keys
            if not used_keys:
                continue
            theirs = self.priority(other)
            if other.cluster_queue == queue.name:
                allowed = (queue.within == "LowerPriority" and theirs < mine) or (
                    queue.within == "LowerOrNewerEqualPriority"
                    and (theirs < mine or (theirs == mine and other.creation > w.creation)))
            else:
                owner = self.queues[other.cluster_queue]
                borrowing = any(self.usage[owner.name].get(k, Decimal(0)) > owner.quotas[k].nominal
                                for k in used_keys if k in owner.quotas)
                same_cohort = owner.cohort is not None and owner.cohort == queue.cohort
                allowed = same_cohort and borrowing and (
                    queue.reclaim == "Any" or (queue.reclaim == "LowerPriority" and theirs < mine))
            if allowed:
                candidates.append(other)
        candidates.sort(key=lambda o: (o.cluster_queue == queue.name, self.priority(o), -(o.admitted_at or 0), o.name))
        trial = {q: dict(u) for q, u in self.usage.items()}
        chosen: list[Workload] = []
        for candidate in candidates:
            self._release(candidate, trial)
            chosen.append(candidate)
            if self.fit(w, queue, flavor, resources, trial)[0]:
                break
        else:
            return None
        for victim in reversed(list(chosen)):
            self._charge(victim, trial)
            if self.fit(w, queue, flavor, resources, trial)[0]:
                chosen.remove(victim)
            else:
                self._release(victim, trial)
        return chosen, all(v.cluster_queue != queue.name for v in chosen)

    def assign(self, w: Workload) -> tuple[int, dict[str, str], list[Workload], str, bool]:
        """Rule 5 per resource group: (rank, resource -> flavor, victims, reason, borrows)."""
        queue = self.queues.get(w.cluster_queue)
        if queue is None:
            return NO_FIT, {}, [], f"ClusterQueue {w.cluster_queue} does not exist", False
        requested = sorted(r for r, amount in w.requests.items() if amount > 0)
        uncovered = [r for r in requested if not any(r in g.covered for g in queue.groups)]
        if uncovered:
            return NO_FIT, {}, [], f"{', '.join(sorted(uncovered))} is not covered by ClusterQueue {queue.name}", False
        assignment: dict[str, str] = {}
        victims: list[Workload] = []
        failures: list[str] = []
        overall, borrows = FIT, False
        for group in queue.groups:
            resources = [r for r in group.covered if r in requested]  # the queue's order: stable messages
            if not resources:
                continue
            best: tuple[int, int, str, list[Workload]] | None = None
            reasons, rejections = [], []
            option: tuple[int, int, str, list[Workload]]
            for flavor in group.flavors:
                rejection = self.flavor_rejection(w, flavor, group)
                if rejection:
                    rejections.append(rejection)
                    continue
                fits, borrow, reason, possible = self.fit(w, queue, flavor, resources, self.usage)
                if fits:
                    option = (FIT, -int(borrow), flavor, [])
                    if not borrow or queue.borrow_stops:
                        best = option
                        break
                else:
                    reasons.append(reason or f"{flavor}: does not fit")
                    found = self.victims(w, queue, flavor, resources) if possible else None
                    if not found:
                        continue
                    chosen, reclaim = found
                    option = (RECLAIM if reclaim else PREEMPT, 0, flavor, chosen)
                    if queue.preempt_stops:
                        best = option
                        break
                if best is None or option[:2] > best[:2]:
                    best = option
            if best is None:  # Kueue reports every group that does not fit, so go on collecting
                failures.append("; ".join(reasons + rejections) or "no flavor")
                continue
            rank, borrow_rank, flavor, chosen = best
            overall = min(overall, rank)
            borrows = borrows or borrow_rank < 0
            victims += chosen
            assignment.update({r: flavor for r in resources})
        if failures:
            return NO_FIT, {}, [], "; ".join(failures), False
        return overall, assignment, victims, "", borrows

    def _charge(self, w: Workload, usage: dict[str, Usage]) -> None:
        for res, flavor in (w.admitted_flavors or {}).items():
            key = (flavor, res)
            usage[w.cluster_queue][key] = usage[w.cluster_queue].get(key, Decimal(0)) + w.requests[res]

    def _release(self, w: Workload, usage: dict[str, Usage]) -> None:
        for res, flavor in (w.admitted_flavors or {}).items():
            usage[w.cluster_queue][(flavor, res)] -= w.requests[res]

    def admit(self, w: Workload, flavors: dict[str, str]) -> None:
        self.clock += 1
        w.admitted_flavors, w.admitted_at = flavors, self.clock
        self.running[w.name] = w
        for flavor in set(flavors.values()):
            self.running_on.setdefault(flavor, {})[w.name] = w
        self._charge(w, self.usage)

    def evict(self, w: Workload) -> None:
        self._release(w, self.usage)
        del self.running[w.name]
        for flavor in set((w.admitted_flavors or {}).values()):
            del self.running_on[flavor][w.name]
        w.admitted_flavors, w.admitted_at = None, None


def simulate(
    *,
    flavors: Iterable[Mapping[str, Any]],
    cluster_queues: Iterable[Mapping[str, Any]],
    workloads: Iterable[Workload],
    priority_classes: Iterable[Mapping[str, Any]] = (),
    selector_rule: SelectorRule = "current",
) -> Result:
    """Run admission cycles until nothing changes; see the module docstring."""
    sim = Simulator([flavor_from_manifest(f) for f in flavors], [ClusterQueue.from_manifest(q) for q in cluster_queues],
                    {p["metadata"]["name"]: int(p.get("value", 0)) for p in priority_classes}, selector_rule)
    items = [Workload(**{**w.__dict__}) for w in workloads]  # never mutate the caller's objects
    names = [w.name for w in items]
    if len(set(names)) != len(names):
        raise ValueError(f"workload names must be unique: {sorted({n for n in names if names.count(n) > 1})}")
    outcomes = {w.name: Outcome(w.name, w.cluster_queue, "pending") for w in items}
    next_creation = max((w.creation for w in items), default=0) + 1
    for w in sorted((w for w in items if w.admitted_flavors), key=lambda w: (w.admitted_at or 0, w.name)):
        if w.cluster_queue in sim.queues:
            flavors_held = dict(w.admitted_flavors or {})
            sim.admit(w, flavors_held)

    def order_key(w: Workload) -> tuple[int, int, str]:  # rule 6
        return -sim.priority(w), w.creation, w.name

    queues: dict[str, list[tuple[Any, ...]]] = {name: [] for name in sim.queues}
    unknown = []
    for w in items:
        if w.name in sim.running:
            continue
        if w.cluster_queue in queues:
            bisect.insort(queues[w.cluster_queue], (*order_key(w), id(w), w))
        else:
            unknown.append(w)
    set_aside: set[str] = set()
    cursor = {name: 0 for name in queues}
    for _ in range(100_000):
        heads = []
        for name, queue in sorted(queues.items()):
            while cursor[name] < len(queue) and queue[cursor[name]][-1].name in set_aside and sim.queues[name].strategy != "StrictFIFO":
                cursor[name] += 1
            if cursor[name] < len(queue) and queue[cursor[name]][-1].name not in set_aside:
                heads.append(queue[cursor[name]][-1])
        if not heads:
            break
        plans = sorted(((sim.assign(w), w) for w in heads), key=lambda p: (p[0][4], order_key(p[1])))
        released = False
        changed = False
        for plan, w in plans:
            # An earlier head of this cycle may have taken quota: assign again after any change.
            rank, assignment, victims, reason, _ = sim.assign(w) if changed else plan
            changed = changed or rank != NO_FIT
            if rank == FIT:
                sim.admit(w, assignment)
                queues[w.cluster_queue].pop(cursor[w.cluster_queue])  # w is its queue's head
                outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(assignment), admitted_at=w.admitted_at)
            elif rank in (PREEMPT, RECLAIM):
                for victim in victims:
                    sim.evict(victim)
                    victim.creation, next_creation = next_creation, next_creation + 1  # its replacement queues again
                    bisect.insort(queues[victim.cluster_queue], (*order_key(victim), id(victim), victim))
                    outcomes[victim.name] = Outcome(victim.name, victim.cluster_queue, "preempted",
                                                    reason=f"preempted by {w.name}", preempted_by=w.name)
                released = True
            else:
                set_aside.add(w.name)
                previous = outcomes[w.name]
                state: State = "preempted" if previous.preempted_by else "pending"
                prefix = f"preempted by {previous.preempted_by}; now pending: " if previous.preempted_by else ""
                outcomes[w.name] = Outcome(w.name, w.cluster_queue, state, reason=prefix + reason,
                                           preempted_by=previous.preempted_by)
        if released:  # rule 9: released quota retries every set-aside workload, in queue order
            set_aside.clear()
            cursor = {name: 0 for name in queues}
    else:
        raise RuntimeError("the simulation did not settle after 100000 cycles")
    for name, queue in queues.items():
        if sim.queues[name].strategy == "StrictFIFO" and cursor[name] < len(queue):
            head = queue[cursor[name]][-1]
            for entry in queue[cursor[name] + 1:]:
                w = entry[-1]
                outcomes[w.name].reason = f"waiting behind {head.name} (StrictFIFO): {outcomes[head.name].reason}"
    for w in unknown:
        outcomes[w.name].reason = f"ClusterQueue {w.cluster_queue} does not exist"
    for w in sim.running.values():
        outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(w.admitted_flavors or {}),
                                   admitted_at=w.admitted_at)
    nominal = {q.name: {k: v.nominal for k, v in q.quotas.items()} for q in sim.queues.values()}
    return Result(outcomes, sim.usage, nominal)

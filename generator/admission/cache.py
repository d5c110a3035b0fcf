"""The simulator's view of the cluster, as Kueue's scheduler cache holds it: flavors, ClusterQueues and Cohorts in
their tree (`hierarchy`), usage, and which workloads run on which flavor. KUEUE.md rule 4 (fit, with cohorts) is the
tree's arithmetic; here it is built from the objects and kept up to date as workloads come and go."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

from generator.admission.hierarchy import FlavorResource, Node, add_usage, compute_subtree
from generator.admission.objects import ClusterQueue, Cohort, Flavor, SelectorRule, Usage, Workload

ZERO = Decimal(0)


def usage_of(w: Workload) -> dict[FlavorResource, Decimal]:
    return {(flavor, res): w.requests[res] for res, flavor in (w.admitted_flavors or {}).items()}


class Cache:
    def __init__(self, flavors: list[Flavor], queues: list[ClusterQueue], priority_values: Mapping[str, int],
                 selector_rule: SelectorRule, cohorts: Sequence[Cohort] = ()) -> None:
        self.flavors = {f.name: f for f in flavors}
        self.queues = {q.name: q for q in queues}
        self.priority_values = priority_values
        self.selector_rule = selector_rule
        self.running: dict[str, Workload] = {}
        # flavor -> ClusterQueue -> priority -> running workloads: a preemptor reads only the queues and priorities
        # it may take from, so a cohort of many busy queues costs it little
        self.running_on: dict[str, dict[str, dict[int, dict[str, Workload]]]] = {}
        # Kueue's AllocatableResourceGeneration: a ClusterQueue's count of workloads that left it
        self.generation: dict[str, int] = {q.name: 0 for q in queues}
        self.clock = 0
        self.inactive: dict[str, str] = {}  # ClusterQueue -> why Kueue keeps it inactive
        self.cohorts: dict[str, Node] = {}
        self.nodes: dict[str, Node] = {}
        self._build(queues, list(cohorts))

    def _cohort(self, name: str) -> Node:
        """A Cohort named by a ClusterQueue or a parentName; one no object declares has no quota (Kueue's implicit
        cohort)."""
        if name not in self.cohorts:
            self.cohorts[name] = Node(name, False, {})
        return self.cohorts[name]

    def _build(self, queues: list[ClusterQueue], cohorts: list[Cohort]) -> None:
        for cohort in cohorts:
            self.cohorts[cohort.name] = Node(cohort.name, False, dict(cohort.quotas), cohort.weight)
        parents = {c.name: c.parent for c in cohorts if c.parent}
        for parent_name in parents.values():
            self._cohort(parent_name)
        cyclic = {name for name in self.cohorts if _in_cycle(name, parents)}
        for name, parent_name in parents.items():
            if name not in cyclic:
                child, above = self.cohorts[name], self.cohorts[parent_name]
                child.parent = above
                above.cohorts.append(child)
        for queue in queues:
            node = Node(queue.name, True, dict(queue.quotas), queue.weight)
            self.nodes[queue.name] = node
            missing = [f for g in queue.groups for f in g.flavors if f not in self.flavors]
            if missing:
                self.inactive[queue.name] = f"ClusterQueue {queue.name} is inactive: flavor {missing[0]} has no ResourceFlavor"
            if not queue.cohort:
                continue
            if _reaches_cycle(queue.cohort, parents, cyclic):
                self.inactive[queue.name] = (f"ClusterQueue {queue.name} is inactive: its cohort {queue.cohort} is in a "
                                             "cycle of parentName references")
                continue
            holder = self._cohort(queue.cohort)
            node.parent = holder
            holder.queues.append(node)
        for node in [*self.cohorts.values(), *self.nodes.values()]:
            if node.parent is None:
                compute_subtree(node)

    # Rule 8: the WorkloadPriorityClass named by the label wins over the pod's priority.
    def priority(self, w: Workload) -> int:
        if w.priority_class and w.priority_class in self.priority_values:
            return self.priority_values[w.priority_class]
        return w.priority

    def counting_pods(self, w: Workload) -> Workload:
        """Kueue counts a pod as one of resource `pods` where a ClusterQueue covers it."""
        queue = self.queues.get(w.cluster_queue)
        if queue is not None and "pods" not in w.requests and any("pods" in g.covered for g in queue.groups):
            w.requests = {**w.requests, "pods": Decimal(1)}
            if w.admitted_flavors is not None:
                group = next(g for g in queue.groups if "pods" in g.covered)
                flavor = next((f for r, f in w.admitted_flavors.items() if r in group.covered), None)
                if flavor is not None:
                    w.admitted_flavors = {**w.admitted_flavors, "pods": flavor}
        return w

    def node(self, queue: str) -> Node:
        return self.nodes[queue]

    def charge(self, w: Workload, sign: int = 1) -> None:
        node = self.nodes[w.cluster_queue]
        for fr, amount in usage_of(w).items():
            add_usage(node, fr, amount * sign)

    def release(self, w: Workload) -> None:
        self.charge(w, -1)

    def add_usage(self, queue: str, usage: Mapping[FlavorResource, Decimal], sign: int = 1) -> None:
        node = self.nodes[queue]
        for fr, amount in usage.items():
            add_usage(node, fr, amount * sign)

    def admit(self, w: Workload, flavors: dict[str, str]) -> None:
        self.clock += 1
        w.admitted_flavors, w.admitted_at = flavors, self.clock
        self.running[w.name] = w
        for flavor in set(flavors.values()):
            self.running_on.setdefault(flavor, {}).setdefault(w.cluster_queue, {}).setdefault(self.priority(w), {})[w.name] = w
        self.charge(w)

    def evict(self, w: Workload) -> None:
        self.release(w)
        del self.running[w.name]
        self.generation[w.cluster_queue] += 1
        for flavor in set((w.admitted_flavors or {}).values()):
            del self.running_on[flavor][w.cluster_queue][self.priority(w)][w.name]
        w.admitted_flavors, w.admitted_at = None, None

    def running_in(self, queue: str, flavors: Iterator[str] | list[str]) -> Iterator[tuple[int, dict[str, Workload]]]:
        """(priority, workloads) of the queue's running workloads on any of the flavors, a flavor at a time."""
        for flavor in flavors:
            yield from self.running_on.get(flavor, {}).get(queue, {}).items()

    def usage_by_queue(self) -> dict[str, Usage]:
        return {name: {fr: v for fr, v in node.usage.items()} for name, node in self.nodes.items()}


def _in_cycle(name: str, parents: Mapping[str, str]) -> bool:
    seen = {name}
    current = parents.get(name)
    while current is not None:
        if current == name:
            return True
        if current in seen:
            return False
        seen.add(current)
        current = parents.get(current)
    return False


def _reaches_cycle(name: str, parents: Mapping[str, str], cyclic: set[str]) -> bool:
    seen: set[str] = set()
    current: str | None = name
    while current is not None and current not in seen:
        if current in cyclic:
            return True
        seen.add(current)
        current = parents.get(current)
    return False

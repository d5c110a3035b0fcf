"""The simulator's view of the cluster, as Kueue's scheduler cache holds it: queues, flavors, usage per
ClusterQueue, and which workloads run on which flavor. KUEUE.md rule 4 (fit, with cohorts) lives here."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from generator.admission.objects import ClusterQueue, Flavor, SelectorRule, Usage, Workload

ZERO = Decimal(0)


class Cache:
    def __init__(self, flavors: list[Flavor], queues: list[ClusterQueue], priority_values: Mapping[str, int],
                 selector_rule: SelectorRule) -> None:
        self.flavors = {f.name: f for f in flavors}
        self.queues = {q.name: q for q in queues}
        self.priority_values = priority_values
        self.selector_rule = selector_rule
        self.usage: dict[str, Usage] = {q.name: {} for q in queues}
        self.running: dict[str, Workload] = {}
        # flavor -> ClusterQueue -> priority -> running workloads: a preemptor reads only the queues and priorities
        # it may take from, so a cohort of many busy queues costs it little
        self.running_on: dict[str, dict[str, dict[int, dict[str, Workload]]]] = {}
        self.clock = 0
        # Cohort -> its members, computed once: lookups stay constant as queues grow.
        self.cohorts: dict[str, list[ClusterQueue]] = {}
        for queue in queues:
            if queue.cohort:
                self.cohorts.setdefault(queue.cohort, []).append(queue)

    # Rule 8: the WorkloadPriorityClass named by the label wins over the pod's priority.
    def priority(self, w: Workload) -> int:
        if w.priority_class and w.priority_class in self.priority_values:
            return self.priority_values[w.priority_class]
        return w.priority

    def cohort_members(self, queue: ClusterQueue) -> list[ClusterQueue]:
        return self.cohorts.get(queue.cohort, [queue]) if queue.cohort else [queue]

    def used(self, queue: ClusterQueue, key: tuple[str, str], usage: dict[str, Usage] | None = None) -> Decimal:
        return (usage or self.usage)[queue.name].get(key, ZERO)

    def within_nominal(self, queue: ClusterQueue, keys: set[tuple[str, str]], usage: dict[str, Usage]) -> bool:
        """Kueue's IsWithinNominalInResources: usage at or below nominal quota for every key."""
        return all(usage[queue.name].get(k, ZERO) <= queue.quotas[k].nominal for k in keys if k in queue.quotas)

    # Rule 4: what a queue may still take of (flavor, resource), with its cohort.
    def available(self, queue: ClusterQueue, key: tuple[str, str], usage: dict[str, Usage]) -> tuple[Decimal, Decimal]:
        """(available now, the most that could ever be available)."""
        quota = queue.quotas.get(key)
        if quota is None:
            return ZERO, ZERO
        used = usage[queue.name].get(key, ZERO)
        if not queue.cohort:
            return max(ZERO, quota.nominal - used), quota.nominal
        members = [q for q in self.cohort_members(queue) if key in q.quotas]
        pool = sum((q.quotas[key].lendable for q in members), ZERO)
        pool_used = sum((max(ZERO, usage[q.name].get(key, ZERO) - q.quotas[key].guaranteed) for q in members), ZERO)
        ceiling = quota.guaranteed + pool
        if quota.borrowing_limit is not None:
            ceiling = min(ceiling, quota.nominal + quota.borrowing_limit)
        own = max(ZERO, quota.guaranteed - used)
        now = min(own + max(ZERO, pool - pool_used), ceiling - used)
        return max(ZERO, now), ceiling

    def charge(self, w: Workload, usage: dict[str, Usage]) -> None:
        for res, flavor in (w.admitted_flavors or {}).items():
            key = (flavor, res)
            usage[w.cluster_queue][key] = usage[w.cluster_queue].get(key, ZERO) + w.requests[res]

    def release(self, w: Workload, usage: dict[str, Usage]) -> None:
        for res, flavor in (w.admitted_flavors or {}).items():
            usage[w.cluster_queue][(flavor, res)] -= w.requests[res]

    def admit(self, w: Workload, flavors: dict[str, str]) -> None:
        self.clock += 1
        w.admitted_flavors, w.admitted_at = flavors, self.clock
        self.running[w.name] = w
        for flavor in set(flavors.values()):
            self.running_on.setdefault(flavor, {}).setdefault(w.cluster_queue, {}).setdefault(self.priority(w), {})[w.name] = w
        self.charge(w, self.usage)

    def evict(self, w: Workload) -> None:
        self.release(w, self.usage)
        del self.running[w.name]
        for flavor in set((w.admitted_flavors or {}).values()):
            del self.running_on[flavor][w.cluster_queue][self.priority(w)][w.name]
        w.admitted_flavors, w.admitted_at = None, None

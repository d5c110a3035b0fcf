"""Fair sharing, when the Kueue configuration turns it on (kubernetes-sigs/kueue v0.16 pkg/cache/scheduler/
fair_sharing.go, pkg/scheduler/fair_sharing_iterator.go, pkg/scheduler/preemption/fairsharing/ and
preemption.go fairPreemptions).

A node's dominant resource share (DRS) is what it borrows beyond its subtree quota, per resource, as a share of what
its parent could lend it, the largest of those shares divided by the node's weight (`spec.fairSharing.weight`). The
scheduler admits, at each level of the cohort tree, the workload whose node would then have the lowest share; the
preemptor takes from the queue whose share is highest, as long as the strategies allow it: S2-a (the preemptor's
share after admission is at most the target's after the preemption, LessThanOrEqualToFinalShare) and then S2-b (it
is below the target's before, LessThanInitialShare).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from generator.admission.cache import Cache
from generator.admission.hierarchy import FlavorResource, Node, potential_available
from generator.admission.objects import Workload
from generator.admission.preemption import Candidate, Target, candidate_order, fill_back, satisfies, uses, workload_fits

ZERO = Decimal(0)
STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


@dataclass(frozen=True)
class Drs:
    weight: float
    ratio: float  # per mille of what the parent could lend, before the weight
    resource: str = ""

    @property
    def zero(self) -> bool:
        return self.ratio == 0

    def weighted(self) -> float:
        if self.zero:
            return 0.0
        return math.inf if self.weight == 0 else self.ratio / self.weight

    def zero_weight_borrows(self) -> bool:
        return self.weight == 0 and not self.zero


NEGATIVE = Drs(1.0, -1.0)


def compare(a: Drs, b: Drs) -> int:
    """Kueue's CompareDRS: lower is admitted first and preempted last."""
    if a.zero_weight_borrows() and b.zero_weight_borrows():
        return (a.ratio > b.ratio) - (a.ratio < b.ratio)
    if a.zero_weight_borrows():
        return 1
    if b.zero_weight_borrows():
        return -1
    x, y = a.weighted(), b.weighted()
    return (x > y) - (x < y)


def lendable(node: Node) -> dict[str, Decimal]:
    """What the node could get of each resource, all flavors together (Kueue's calculateLendable)."""
    out: dict[str, Decimal] = {}
    for fr in node.root().subtree:
        out[fr[1]] = out.get(fr[1], ZERO) + potential_available(node, fr)
    return out


def share(node: Node, extra: Mapping[FlavorResource, Decimal] | None = None) -> Drs:
    """The node's dominant resource share, with `extra` usage added (Kueue's dominantResourceShare)."""
    if node.parent is None:
        return Drs(node.weight, 0.0)
    borrowed: dict[str, Decimal] = {}
    for fr, quota in node.subtree.items():
        amount = (extra or {}).get(fr, ZERO) + node.usage.get(fr, ZERO) - quota
        if amount > 0:
            borrowed[fr[1]] = borrowed.get(fr[1], ZERO) + amount
    if not borrowed:
        return Drs(node.weight, 0.0)
    pool = lendable(node.parent)
    ratio, dominant = 0.0, ""
    for resource, amount in sorted(borrowed.items()):
        if pool.get(resource, ZERO) > 0:
            value = float(amount) * 1000.0 / float(pool[resource])
            if value > ratio:
                ratio, dominant = value, resource
    return Drs(node.weight, ratio, dominant)


Strategy = Callable[[Drs, Drs, Drs], bool]


def less_than_or_equal_to_final_share(preemptor_new: Drs, _target_old: Drs, target_new: Drs) -> bool:
    return compare(preemptor_new, target_new) <= 0


def less_than_initial_share(preemptor_new: Drs, target_old: Drs, _target_new: Drs) -> bool:
    return compare(preemptor_new, target_old) < 0


STRATEGY = {"LessThanOrEqualToFinalShare": less_than_or_equal_to_final_share,
            "LessThanInitialShare": less_than_initial_share}


def _almost_lca(queue: Node, lca: Node) -> Node:
    """The node just below the least common ancestor on the way up from the queue."""
    below = queue
    for ancestor in queue.ancestors():
        if ancestor is lca:
            return below
        below = ancestor
    raise AssertionError("the least common ancestor is not above the queue")


class _Ordering:
    """Kueue's TargetClusterQueueOrdering: from the root down, the child with the highest share that still has
    candidates, until every node is pruned."""

    def __init__(self, cache: Cache, preemptor: Node, candidates: list[Workload]) -> None:
        self.cache, self.preemptor = cache, preemptor
        self.ancestors = set(map(id, preemptor.ancestors()))
        self.targets: dict[str, list[Workload]] = {}
        for w in candidates:
            self.targets.setdefault(w.cluster_queue, []).append(w)
        self.pruned_queues: set[int] = set()
        self.pruned_cohorts: set[int] = set()

    def has_workload(self, queue: Node) -> bool:
        return bool(self.targets.get(queue.name))

    def pop(self, queue: Node) -> Workload:
        return self.targets[queue.name].pop(0)

    def drop(self, queue: Node) -> None:
        self.pruned_queues.add(id(queue))

    def __iter__(self) -> Iterator[Node]:
        if self.preemptor.parent is None:
            while self.has_workload(self.preemptor):
                yield self.preemptor
            return
        root = self.preemptor.root()
        while id(root) not in self.pruned_cohorts:
            target = self._next(root)
            if target is not None:
                yield target

    def _next(self, cohort: Node) -> Node | None:
        order = candidate_order(self.cache, self.preemptor.name)
        best_queue: Node | None = None
        best_queue_share = NEGATIVE
        for queue in cohort.queues:
            if id(queue) in self.pruned_queues:
                continue
            drs = share(queue)
            if (drs.zero and queue is not self.preemptor) or not self.has_workload(queue):
                self.pruned_queues.add(id(queue))
            elif best_queue is not None and compare(drs, best_queue_share) == 0:
                if order(self.targets[queue.name][0]) < order(self.targets[best_queue.name][0]):
                    best_queue = queue
            elif compare(drs, best_queue_share) == 1:
                best_queue, best_queue_share = queue, drs
        best_cohort: Node | None = None
        best_cohort_share = NEGATIVE
        for child in cohort.cohorts:
            if id(child) in self.pruned_cohorts:
                continue
            drs = share(child)
            if drs.zero and id(child) not in self.ancestors:
                self.pruned_cohorts.add(id(child))
            elif compare(drs, best_cohort_share) >= 0:
                best_cohort, best_cohort_share = child, drs
        if best_cohort is None and best_queue is None:
            self.pruned_cohorts.add(id(cohort))
            return None
        if best_cohort is not None and compare(best_cohort_share, best_queue_share) >= 0:
            return self._next(best_cohort)
        return best_queue

    def shares(self, target: Node, removed: Workload | None = None) -> tuple[Drs, Drs]:
        """(the preemptor's almost-LCA share, the target's almost-LCA share, after removing `removed` if given)."""
        lca = next(a for a in target.ancestors() if id(a) in self.ancestors)
        if removed is not None:
            self.cache.release(removed)
        try:
            return share(_almost_lca(self.preemptor, lca)), share(_almost_lca(target, lca))
        finally:
            if removed is not None:
                self.cache.charge(removed)


def candidates(cache: Cache, w: Workload, needed: set[FlavorResource]) -> list[Workload]:
    """Kueue's findCandidates: the queue's own workloads its withinClusterQueue policy allows, and those of every
    borrowing queue of the cohort tree its reclaimWithinCohort policy allows, each using a needed pair."""
    queue = cache.queues[w.cluster_queue]
    node = cache.node(queue.name)
    flavors = list(dict.fromkeys(f for f, _ in sorted(needed)))
    found: dict[str, Workload] = {}

    def take(name: str, policy: str) -> None:
        for _, running in cache.running_in(name, flavors):
            for other in running.values():
                if uses(other, needed) and satisfies(policy, w, other, cache):
                    found[other.name] = other

    if queue.within != "Never":
        take(queue.name, queue.within)
    if node.parent is not None and queue.reclaim != "Never":
        for other in node.root().subtree_queues():
            if other is not node and any(other.usage.get(fr, ZERO) > other.subtree.get(fr, ZERO) for fr in needed):
                take(other.name, queue.reclaim)
    return sorted(found.values(), key=candidate_order(cache, queue.name))


def fair_targets(cache: Cache, w: Workload, needed: set[FlavorResource], usage: Mapping[FlavorResource, Decimal],
                 strategies: Sequence[str] = STRATEGIES) -> list[Target]:
    """Kueue's fairPreemptions: victims chosen by share, with the preemptor's usage counted in while choosing."""
    queue, node = cache.queues[w.cluster_queue], cache.node(w.cluster_queue)
    if queue.within == "Never" and (queue.reclaim == "Never" or node.parent is None):
        return []
    found = candidates(cache, w, needed)
    if not found:
        return []
    cache.add_usage(node.name, usage)

    def fits() -> bool:
        cache.add_usage(node.name, usage, -1)
        try:
            return workload_fits(cache, node, usage, borrowing=True)
        finally:
            cache.add_usage(node.name, usage)

    targets: list[Target] = []
    retry: list[Workload] = []
    done = False
    ordering = _Ordering(cache, node, found)
    strategy = STRATEGY[strategies[0]]
    for target in ordering:
        if target is node:
            victim = ordering.pop(target)
            cache.release(victim)
            targets.append(Target(victim, "InClusterQueue"))
            if fits():
                done = True
                break
            continue
        preemptor_new, target_old = ordering.shares(target)
        while ordering.has_workload(target):
            victim = ordering.pop(target)
            _, target_new = ordering.shares(target, victim)
            if strategy(preemptor_new, target_old, target_new):
                cache.release(victim)
                targets.append(Target(victim, "InCohortFairSharing"))
                done = fits()
                break
            retry.append(victim)
        if done:
            break
    if not done and len(strategies) > 1:
        second = _Ordering(cache, node, retry)
        for target in second:
            preemptor_new, target_old = second.shares(target)
            if less_than_initial_share(preemptor_new, target_old, target_old):
                victim = second.pop(target)
                cache.release(victim)
                targets.append(Target(victim, "InCohortFairSharing"))
                if fits():
                    done = True
                    break
            second.drop(target)
    cache.add_usage(node.name, usage, -1)
    if not done:
        for t in targets:
            cache.charge(t.workload)
        return []
    kept = fill_back(cache, node, usage, [Candidate(t.workload, 0) for t in targets], borrowing=True)
    names = {c.workload.name for c in kept}
    for t in targets:
        if t.workload.name in names:
            cache.charge(t.workload)
    return [t for t in targets if t.workload.name in names]


def drs_after(cache: Cache, queue: Node, usage: Mapping[FlavorResource, Decimal]) -> dict[str, Drs]:
    """Share of the queue and of each of its ancestors' children on its path, with `usage` added, keyed by the
    parent cohort's name (what Kueue's tournament compares at each level)."""
    values: dict[str, Drs] = {}
    cache.add_usage(queue.name, usage)
    try:
        drs = share(queue)
        for ancestor in queue.ancestors():
            values[ancestor.name] = drs
            drs = share(ancestor)
    finally:
        cache.add_usage(queue.name, usage, -1)
    return values


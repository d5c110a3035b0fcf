"""Who a workload may preempt to be admitted: KUEUE.md rule 7, as Kueue's classical preemptor decides it
(kubernetes-sigs/kueue v0.16 pkg/scheduler/preemption: preemption.go classicalPreemptions, classical/
hierarchical_preemption.go and candidate_generator.go, common/ordering.go). Fair sharing has its own preemptor
(`fairsharing`).

Candidates come from the preemptor's own ClusterQueue (withinClusterQueue) and, walking up the cohort tree, from
the subtrees that use more than their quota (reclaimWithinCohort). Once the preemptor's request fits the quota of a
subtree it belongs to, it has the hierarchical advantage over every workload found from there up: it may reclaim
from them whatever its priority. Without that advantage, a candidate of another queue may only be taken while the
preemptor stays within its nominal quota, unless borrowWithinCohort lets it preempt lower-priority workloads while
borrowing (without that rule two borrowing queues would evict each other without end). Candidates are tried other
queues first, lowest priority first, most recently admitted first; a candidate stops counting once its queue (or a
cohort on the way to where it was found) is back within its quota; once the preemptor fits, every victim not
needed is given back.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, count
from typing import TypeVar

from generator.admission.cache import Cache
from generator.admission.hierarchy import FlavorResource, Node, available, borrowing_with, fits_in_quota, within_nominal
from generator.admission.objects import ClusterQueue, Workload

WITHIN_QUEUE, HIERARCHICAL_RECLAIM, RECLAIM_WITHOUT_BORROWING, RECLAIM_WHILE_BORROWING = range(4)
REASONS = {WITHIN_QUEUE: "InClusterQueue", HIERARCHICAL_RECLAIM: "InCohortReclamation",
           RECLAIM_WITHOUT_BORROWING: "InCohortReclamation", RECLAIM_WHILE_BORROWING: "InCohortReclaimWhileBorrowing"}
ZERO = Decimal(0)


@dataclass(frozen=True)
class Candidate:
    workload: Workload
    variant: int
    found_at: Node | None = None  # the subtree root it was found under: validity is checked up to there


@dataclass(frozen=True)
class Target:
    workload: Workload
    reason: str  # Kueue's Preempted condition reason


Usage = Mapping[FlavorResource, Decimal]


def satisfies(policy: str, preemptor: Workload, candidate: Workload, cache: Cache) -> bool:
    """Kueue's SatisfiesPreemptionPolicy (queue-order timestamps compared for equal priorities)."""
    mine, theirs = cache.priority(preemptor), cache.priority(candidate)
    if policy == "Any":
        return True
    if policy == "LowerPriority":
        return theirs < mine
    if policy == "LowerOrNewerEqualPriority":
        return theirs < mine or (theirs == mine and candidate.creation > preemptor.creation)
    return False


def _may_reach(policy: str, theirs: int, mine: int) -> bool:
    """Whether `satisfies` can hold for some workload of priority `theirs`: whole priority levels are skipped."""
    return policy == "Any" or (policy == "LowerPriority" and theirs < mine) or \
        (policy == "LowerOrNewerEqualPriority" and theirs <= mine)


def uses(w: Workload, needed: set[FlavorResource]) -> bool:
    return any((flavor, res) in needed for res, flavor in (w.admitted_flavors or {}).items())


def candidate_order(cache: Cache, queue: str) -> Callable[[Workload], tuple[bool, int, int, str]]:
    """Kueue's CandidatesOrdering: other queues first, lowest priority first, most recently admitted first."""
    return lambda w: (w.cluster_queue == queue, cache.priority(w), -(w.admitted_at or 0), w.name)


def _classify(cache: Cache, preemptor: Workload, queue: ClusterQueue, candidate: Workload, advantage: bool) -> int | None:
    if candidate.cluster_queue == queue.name:
        return WITHIN_QUEUE if satisfies(queue.within, preemptor, candidate, cache) else None
    if not satisfies(queue.reclaim, preemptor, candidate, cache):
        return None
    if advantage:
        return HIERARCHICAL_RECLAIM
    if queue.borrow_within_cohort == "Never":
        return RECLAIM_WITHOUT_BORROWING
    theirs, mine = cache.priority(candidate), cache.priority(preemptor)
    above_threshold = theirs >= mine or (queue.borrow_threshold is not None and theirs > queue.borrow_threshold)
    return RECLAIM_WITHOUT_BORROWING if above_threshold else RECLAIM_WHILE_BORROWING


def _own_can_reach_nominal(cache: Cache, w: Workload, node: Node, usage: Usage, same: list[Candidate],
                           under_nominal: bool) -> bool:
    """Whether evicting every candidate of the preemptor's own queue would let it fit within nominal quota."""
    if not under_nominal:
        return False
    for fr, amount in usage.items():
        freed = sum((c.workload.requests[fr[1]] for c in same if (c.workload.admitted_flavors or {}).get(fr[1]) == fr[0]),
                    ZERO)
        if node.usage.get(fr, ZERO) - freed + amount > node.subtree.get(fr, ZERO):
            return False
    return True


def _advantage_possible(node: Node, usage: Usage) -> bool:
    """Whether the request fits the queue or a cohort below the root: only then can hierarchy candidates exist."""
    advantage, remaining = fits_in_quota(node, usage)
    for cohort in node.ancestors():
        if advantage or cohort.parent is None:
            break
        advantage, remaining = fits_in_quota(cohort, remaining)
    return advantage


def workload_fits(cache: Cache, node: Node, usage: Usage, *, borrowing: bool) -> bool:
    """Kueue's workloadFits: every requested (flavor, resource) available now, and within nominal quota when the
    attempt may not borrow."""
    for fr, amount in usage.items():
        if not borrowing and borrowing_with(node, fr, amount):
            return False
        if amount > max(ZERO, available(node, fr)):
            return False
    return True


@dataclass(frozen=True)
class _Source:
    """A ClusterQueue candidates come from, with what decides their variant and validity."""

    queue: str
    policy: str
    advantage: bool
    found_at: Node | None


class _Gatherer:
    """Candidates of one preemption search, in the order Kueue's candidate generator sorts them, made lazily: a
    search usually needs the first few only."""

    def __init__(self, cache: Cache, w: Workload, queue: ClusterQueue, needed: set[FlavorResource]) -> None:
        self.cache, self.w, self.queue, self.needed = cache, w, queue, needed
        self.flavors = list(dict.fromkeys(f for f, _ in sorted(needed)))
        self.mine = cache.priority(w)

    def subtree(self, current: Node, root: Node, skip: Node | None, own: Node, advantage: bool,
                into: list[_Source]) -> None:
        """Queues of the subtree that use more than their quota, skipping subtrees within theirs."""
        for child in current.cohorts:
            if child is not skip and not within_nominal(child, self.needed):
                self.subtree(child, root, skip, own, advantage, into)
        for child in current.queues:
            if child is not own and not within_nominal(child, self.needed):
                into.append(_Source(child.name, self.queue.reclaim, advantage, root))

    def _bucket(self, level: int, running: dict[str, Workload], source: _Source,
                serial: Iterator[int]) -> Iterator[tuple[int, int, str, int, Candidate]]:
        for other in reversed(running.values()):  # admitted in this order: the most recent first
            if uses(other, self.needed):
                variant = _classify(self.cache, self.w, self.queue, other, source.advantage)
                if variant is not None:
                    yield level, -(other.admitted_at or 0), other.name, next(serial), Candidate(other, variant, source.found_at)

    def stream(self, sources: list[_Source]) -> Iterator[Candidate]:
        """Lowest priority first, most recently admitted first (each queue's running workloads are kept per priority
        in admission order, so the streams merge without sorting everything)."""
        serial = count()
        streams = [self._bucket(level, running, source, serial)
                   for source in sources
                   for level, running in self.cache.running_in(source.queue, self.flavors)
                   if _may_reach(source.policy, level, self.mine)]
        seen: set[str] = set()
        for *_, candidate in heapq.merge(*streams):
            if candidate.workload.name not in seen:  # a workload on two needed flavors comes twice
                seen.add(candidate.workload.name)
                yield candidate


def _valid(cache: Cache, queue: str, candidate: Candidate, needed: set[FlavorResource], *, borrowing: bool) -> bool:
    """Kueue's candidateIsValid, on the usage left so far."""
    if candidate.workload.cluster_queue == queue:
        return True
    if borrowing and candidate.variant == RECLAIM_WITHOUT_BORROWING:
        return False
    node = cache.node(candidate.workload.cluster_queue)
    if within_nominal(node, needed):
        return False
    for ancestor in node.ancestors():
        if ancestor is candidate.found_at:
            break
        if within_nominal(ancestor, needed):
            return False
    return True


def classical_targets(cache: Cache, w: Workload, needed: set[FlavorResource], usage: Usage) -> list[Target]:
    """The smallest set of running workloads whose eviction admits `w` with `usage` (every (flavor, resource) it
    would hold), taking only from the pairs in `needed`; empty when no policy allows enough."""
    queue = cache.queues[w.cluster_queue]
    node = cache.node(queue.name)
    if queue.within == "Never" and (queue.reclaim == "Never" or node.parent is None):
        return []
    gather = _Gatherer(cache, w, queue, needed)
    own = [_Source(queue.name, queue.within, False, None)] if queue.within != "Never" else []
    hierarchy: list[_Source] = []
    priority: list[_Source] = []
    forbidden = queue.borrow_within_cohort == "Never"
    under_nominal = all(node.usage.get(fr, ZERO) < queue.quotas[fr].nominal if fr in queue.quotas else False for fr in needed)
    # Without the hierarchical advantage and without borrowWithinCohort, other queues' workloads count only in the
    # attempt that stays within nominal quota; when the queue's own candidates cannot bring it there, that attempt
    # fails whatever others give back, so they are not gathered (a cohort of busy queues stays cheap to simulate).
    skip_others = forbidden and not _advantage_possible(node, usage) and not _own_can_reach_nominal(
        cache, w, node, usage, list(gather.stream(own)) if under_nominal else [], under_nominal)
    if node.parent is not None and queue.reclaim != "Never" and not skip_others:
        advantage, remaining = fits_in_quota(node, usage)
        previous: Node | None = None
        for cohort in node.ancestors():
            gather.subtree(cohort, cohort, previous, node, advantage, hierarchy if advantage else priority)
            fits, remaining = fits_in_quota(cohort, remaining)
            advantage = advantage or fits
            previous = cohort
    any_hierarchy = next(gather.stream(hierarchy), None) is not None
    any_priority = next(gather.stream(priority), None) is not None
    if not (any_hierarchy or any_priority) or (forbidden and not under_nominal):
        attempts = [True]
    elif forbidden and not any_hierarchy:
        attempts = [False, True]
    else:
        attempts = [True, False]
    for borrowing in attempts:
        chosen: list[Candidate] = []
        for candidate in chain(gather.stream(hierarchy), gather.stream(priority), gather.stream(own)):
            if not _valid(cache, queue.name, candidate, needed, borrowing=borrowing):
                continue
            cache.release(candidate.workload)
            chosen.append(candidate)
            if workload_fits(cache, node, usage, borrowing=borrowing):
                chosen = fill_back(cache, node, usage, chosen, borrowing=borrowing)
                for victim in chosen:
                    cache.charge(victim.workload)
                return [Target(c.workload, REASONS[c.variant]) for c in chosen]
        for victim in chosen:
            cache.charge(victim.workload)
    return []


def fill_back(cache: Cache, node: Node, usage: Usage, chosen: list[Candidate], *, borrowing: bool) -> list[Candidate]:
    """Give back, newest choice first, every victim the preemptor fits without (the last one it needed stays)."""
    kept = list(chosen)
    for victim in reversed(chosen[:-1]):
        cache.charge(victim.workload)
        if workload_fits(cache, node, usage, borrowing=borrowing):
            kept.remove(victim)
        else:
            cache.release(victim.workload)
    return kept


T = TypeVar("T")


def without(cache: Cache, workloads: list[Workload], check: Callable[[], T]) -> T:
    """`check()` on the state with these workloads' usage released, then put back (Kueue's SimulateWorkloadRemoval)."""
    for victim in workloads:
        cache.release(victim)
    try:
        return check()
    finally:
        for victim in workloads:
            cache.charge(victim)


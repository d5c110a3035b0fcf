"""Who a workload may preempt to be admitted: KUEUE.md rule 7, as Kueue's classical preemptor decides it
(kubernetes-sigs/kueue pkg/scheduler/preemption: classifyPreemptionVariant, candidateIsValid, and the
candidate order of common/ordering.go).

A preemptor that fits in its own ClusterQueue's nominal quota has the hierarchical advantage: it may reclaim
from any queue of its cohort that is borrowing (as its reclaimWithinCohort policy allows). One that would
itself borrow may only take from others while staying within its nominal quota (nothing, then), unless its
borrowWithinCohort policy allows preempting lower-priority borrowers. Without that rule two borrowing
queues would evict each other without end. Candidates of other queues come first, lowest priority first,
most recently admitted first; a candidate stops counting once its queue is back within its nominal quota;
once the preemptor fits, every victim not needed is given back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator.admission.cache import Cache
from generator.admission.objects import ClusterQueue, Usage, Workload

WITHIN_QUEUE, HIERARCHICAL_RECLAIM, RECLAIM_WITHOUT_BORROWING, RECLAIM_WHILE_BORROWING = range(4)


@dataclass(frozen=True)
class Candidate:
    workload: Workload
    variant: int


def satisfies(policy: str, preemptor: Workload, candidate: Workload, cache: Cache) -> bool:
    """Kueue's SatisfiesPreemptionPolicy."""
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


def _candidate(cache: Cache, preemptor: Workload, queue: ClusterQueue, other: Workload, advantage: bool) -> Candidate | None:
    variant = _classify(cache, preemptor, queue, other, advantage)
    return None if variant is None else Candidate(other, variant)


def _own_can_reach_nominal(cache: Cache, w: Workload, queue: ClusterQueue, keys: list[tuple[str, str]],
                           same: list[Candidate], under_nominal: bool) -> bool:
    """Whether evicting every candidate of the preemptor's own queue would let it fit within nominal quota."""
    if not under_nominal:
        return False
    for key in keys:
        freed = sum((c.workload.requests[key[1]] for c in same if (c.workload.admitted_flavors or {}).get(key[1]) == key[0]),
                    Decimal(0))
        if cache.used(queue, key) - freed + w.requests[key[1]] > queue.quotas[key].nominal:
            return False
    return True


def _fits(cache: Cache, w: Workload, queue: ClusterQueue, keys: list[tuple[str, str]], usage: dict[str, Usage],
          *, borrowing: bool) -> bool:
    for key in keys:
        need = w.requests[key[1]]
        if not borrowing and usage[queue.name].get(key, 0) + need > queue.quotas[key].nominal:
            return False
        if need > cache.available(queue, key, usage)[0]:
            return False
    return True


def victims(cache: Cache, w: Workload, queue: ClusterQueue,
            wanted: list[tuple[str, str]]) -> tuple[list[Workload], bool] | None:
    """The smallest set of running workloads whose eviction admits `w` with the (flavor, resource) pairs `wanted`
    (one search over every resource group that needs room, as Kueue's preemptor does), and whether all are
    reclaimed from other queues; None when no policy allows enough."""
    if queue.within == "Never" and (queue.reclaim == "Never" or not queue.cohort):
        return None
    keys = [k for k in wanted if k in queue.quotas]
    needed = set(keys)
    advantage = all(cache.used(queue, k) + w.requests[k[1]] <= queue.quotas[k].nominal for k in keys)
    forbidden = queue.borrow_within_cohort == "Never"
    under_nominal = all(cache.used(queue, k) < queue.quotas[k].nominal for k in keys)
    same: list[Candidate] = []
    hierarchy: list[Candidate] = []
    priority: list[Candidate] = []
    seen: set[str] = set()
    mine = cache.priority(w)

    def gather(own: bool) -> None:
        for flavor in dict.fromkeys(f for f, _ in keys):
            for owner_name, running in cache.running_on.get(flavor, {}).items():
                if (owner_name == queue.name) != own:
                    continue
                if not own:  # only a queue of the cohort that is borrowing gives back
                    owner = cache.queues[owner_name]
                    if not queue.cohort or owner.cohort != queue.cohort or cache.within_nominal(owner, needed, cache.usage):
                        continue
                policy = queue.within if own else queue.reclaim
                for other in (o for level, ws in running.items() if _may_reach(policy, level, mine) for o in ws.values()):
                    if other.name in seen or not any((f, r) in needed for r, f in (other.admitted_flavors or {}).items()):
                        continue
                    seen.add(other.name)
                    candidate = _candidate(cache, w, queue, other, advantage)
                    if candidate is not None:
                        (same if candidate.variant == WITHIN_QUEUE else
                         hierarchy if candidate.variant == HIERARCHICAL_RECLAIM else priority).append(candidate)

    gather(own=True)
    # Without the hierarchical advantage and without borrowWithinCohort, other queues' workloads count only in the
    # attempt that stays within nominal quota; when the queue's own candidates cannot bring it there, that attempt
    # fails whatever others give back, so they are not gathered (a cohort of busy queues stays cheap to simulate).
    if not (forbidden and not advantage and not _own_can_reach_nominal(cache, w, queue, keys, same, under_nominal)):
        gather(own=False)
    order = lambda c: (cache.priority(c.workload), -(c.workload.admitted_at or 0), c.workload.name)  # noqa: E731
    candidates = sorted(hierarchy, key=order) + sorted(priority, key=order) + sorted(same, key=order)
    if not candidates:
        return None
    if not (hierarchy or priority) or (forbidden and not under_nominal):
        attempts = [True]
    elif forbidden and not hierarchy:
        attempts = [False, True]
    else:
        attempts = [True, False]
    for borrowing in attempts:
        trial = {q: dict(u) for q, u in cache.usage.items()}
        chosen: list[Workload] = []
        for candidate in candidates:
            other = candidate.workload
            if other.cluster_queue != queue.name:  # Kueue's candidateIsValid, on the usage left so far
                if borrowing and candidate.variant == RECLAIM_WITHOUT_BORROWING:
                    continue
                if cache.within_nominal(cache.queues[other.cluster_queue], needed, trial):
                    continue
            cache.release(other, trial)
            chosen.append(other)
            if _fits(cache, w, queue, keys, trial, borrowing=borrowing):
                for victim in reversed(chosen[:-1]):  # give back every victim not needed
                    cache.charge(victim, trial)
                    if _fits(cache, w, queue, keys, trial, borrowing=borrowing):
                        chosen.remove(victim)
                    else:
                        cache.release(victim, trial)
                return chosen, all(v.cluster_queue != queue.name for v in chosen)
    return None

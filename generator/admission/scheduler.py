"""The admission loop: KUEUE.md rules 6 (queue order, BestEffortFIFO and StrictFIFO) and 9 (release), cycle after
cycle until nothing changes, as Kueue's scheduler runs a cycle (kubernetes-sigs/kueue v0.16 pkg/scheduler/
scheduler.go schedule, and pkg/cache/queue/cluster_queue.go for requeueing).

Each cycle takes the head of every ClusterQueue, assigns flavors to all of them on the same state, orders them
(within nominal quota before borrowing, then priority, then queue-order time; or, with fair sharing, the tournament
of shares) and admits them in turn: one that no longer fits after an earlier one is skipped until the next cycle, one
whose victims another preemptor already took too, and one that needs preemption but finds no victim holds the quota
it could get for the rest of the cycle (unless its queue reclaims with Any). A preemptor's victims are evicted (their
replacements queue again, keeping their place: Kueue's queue-order timestamp is the creation time) and the preemptor
stays at the head of its queue until it is admitted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from generator.admission.cache import Cache
from generator.admission.fairsharing import compare, drs_after, fair_targets
from generator.admission.flavorassigner import FIT_MODE, NOFIT_MODE, PREEMPT_MODE, Assignment, assign
from generator.admission.hierarchy import FlavorResource, available
from generator.admission.objects import (
    ClusterQueue,
    Cohort,
    CohortState,
    FairSharing,
    Outcome,
    Result,
    SelectorRule,
    State,
    Workload,
    flavor_from_manifest,
)
from generator.admission.preemption import Target, classical_targets, without

CYCLE_LIMIT = 100_000


def build_cache(flavors: Iterable[Mapping[str, Any]], cluster_queues: Iterable[Mapping[str, Any]],
                priority_classes: Iterable[Mapping[str, Any]], selector_rule: SelectorRule,
                cohorts: Iterable[Mapping[str, Any]]) -> Cache:
    return Cache([flavor_from_manifest(f) for f in flavors], [ClusterQueue.from_manifest(q) for q in cluster_queues],
                 {p["metadata"]["name"]: int(p.get("value", 0)) for p in priority_classes}, selector_rule,
                 [Cohort.from_manifest(c) for c in cohorts])


def admit_running(cache: Cache, items: Iterable[Workload]) -> None:
    """The workloads that already hold quota, in admission order (equal times by name: the candidate order reads
    them newest first)."""
    running = sorted((w for w in items if w.admitted_flavors), key=lambda w: w.name, reverse=True)
    for w in sorted(running, key=lambda w: w.admitted_at or 0):
        if w.cluster_queue in cache.queues:
            cache.admit(w, dict(w.admitted_flavors or {}))


def reservation(cache: Cache, queue_name: str, assignment: Assignment) -> dict[FlavorResource, Decimal]:
    """Kueue's resourcesToReserve: what a workload holds of the quota for the rest of the cycle. One that fits holds
    what it asks; a preemptor without victims holds what its queue can still give it: within nominal quota, or,
    when it would borrow, up to its borrowingLimit."""
    if assignment.mode != PREEMPT_MODE:
        return dict(assignment.usage)
    queue: ClusterQueue = cache.queues[queue_name]
    node = cache.node(queue_name)
    reserved = {}
    for fr, amount in assignment.usage.items():
        quota = queue.quotas[fr]
        used = node.usage.get(fr, Decimal(0))
        if assignment.borrowing > 0:
            limit = quota.borrowing_limit
            reserved[fr] = amount if limit is None else min(amount, quota.nominal + limit - used)
        else:
            reserved[fr] = max(Decimal(0), min(amount, quota.nominal - used))
    return reserved


class Entry:
    def __init__(self, w: Workload, assignment: Assignment) -> None:
        self.w, self.assignment = w, assignment


class Simulation:
    def __init__(self, cache: Cache, items: list[Workload], fair_sharing: FairSharing | None) -> None:
        self.cache, self.fair_sharing = cache, fair_sharing
        self.items = items
        self.outcomes = {w.name: Outcome(w.name, w.cluster_queue, "pending") for w in items}
        self.queues: dict[str, list[tuple[Any, ...]]] = {name: [] for name in cache.queues}
        self.unknown: list[Workload] = []
        self.set_aside: set[str] = set()  # Kueue's inadmissible workloads, retried when quota is released
        self.sticky: dict[str, str] = {}  # ClusterQueue -> the preemptor that stays its head (BestEffortFIFO)
        self.resume: dict[str, tuple[int, dict[str, int]]] = {}  # Kueue's LastAssignment: (generation, tried)
        self.preemptions: list[tuple[str, str]] = []
        self.next_creation = max((w.creation for w in items), default=0) + 1
        self.searched: dict[tuple[Any, ...], list[Target]] = {}
        self.cursor: dict[str, int] = {name: 0 for name in self.queues}  # entries before it are set aside
        admit_running(cache, items)
        for w in items:
            if w.name in cache.running:
                continue
            if w.cluster_queue in self.queues:
                self.enqueue(w)
            else:
                self.unknown.append(w)
        for w in items:
            if w.cluster_queue in cache.inactive and w.name not in cache.running:
                self.outcomes[w.name].reason = cache.inactive[w.cluster_queue]

    def order_key(self, w: Workload) -> tuple[int, int, str]:  # rule 6
        return -self.cache.priority(w), w.creation, w.name

    def enqueue(self, w: Workload) -> None:
        bisect.insort(self.queues[w.cluster_queue], (*self.order_key(w), id(w), w))

    def dequeue(self, w: Workload) -> None:
        queue = self.queues[w.cluster_queue]
        del queue[bisect.bisect_left(queue, (*self.order_key(w), id(w)))]

    def find_targets(self, w: Workload, needed: set[FlavorResource], usage: Mapping[FlavorResource, Decimal]) -> list[Target]:
        # Within one nomination the state does not change: the oracle's search for a single resource is often the
        # whole workload's search too.
        key = (w.name, frozenset(needed), tuple(sorted(usage.items())))
        if key not in self.searched:
            if self.fair_sharing is not None:
                self.searched[key] = fair_targets(self.cache, w, needed, usage, self.fair_sharing.preemption_strategies)
            else:
                self.searched[key] = classical_targets(self.cache, w, needed, usage)
        return self.searched[key]

    def heads(self) -> list[Workload]:
        heads = []
        for name in sorted(self.queues):
            queue = self.queues[name]
            if name in self.cache.inactive or not queue:
                continue
            sticky = self.sticky.get(name)
            if sticky is not None:
                heads.append(next(e[-1] for e in queue if e[-1].name == sticky))
                continue
            strict = self.cache.queues[name].strategy == "StrictFIFO"
            cursor = self.cursor[name]
            while not strict and cursor < len(queue) and queue[cursor][-1].name in self.set_aside:
                cursor += 1
            self.cursor[name] = cursor
            # StrictFIFO: a head that does not fit blocks everything behind it
            if cursor < len(queue) and queue[cursor][-1].name not in self.set_aside:
                heads.append(queue[cursor][-1])
        return heads

    def nominate(self, w: Workload) -> Entry:
        generation = self.cache.generation.get(w.cluster_queue, 0)
        last = self.resume.get(w.name)
        resume = last[1] if last is not None and last[0] == generation else None
        assignment = assign(self.cache, w, self.find_targets, fair_sharing=self.fair_sharing is not None, resume=resume)
        self.searched.clear()
        self.resume[w.name] = (generation, assignment.tried)
        return Entry(w, assignment)

    def ordered(self, entries: list[Entry]) -> Iterator[Entry]:
        if self.fair_sharing is None:
            yield from sorted(entries, key=lambda e: (e.assignment.borrowing, *self.order_key(e.w)))
            return
        remaining = list(entries)
        while remaining:
            chosen = self.tournament(remaining)
            remaining.remove(chosen)
            yield chosen

    def tournament(self, entries: list[Entry]) -> Entry:
        """Kueue's fair-sharing iterator: the workload that would leave its side of the cohort tree with the lowest
        share, level by level; queues without a cohort in name order."""
        by_queue = {e.w.cluster_queue: e for e in entries}
        first = min(entries, key=lambda e: e.w.cluster_queue)
        node = self.cache.node(first.w.cluster_queue)
        if node.parent is None:
            return first
        root = node.root()
        shares: dict[tuple[str, str], Any] = {}
        for queue in root.subtree_queues():
            entry = by_queue.get(queue.name)
            if entry is not None:
                for parent, drs in drs_after(self.cache, queue, entry.assignment.usage).items():
                    shares[(parent, entry.w.name)] = drs

        def better(a: Entry, b: Entry, parent: str) -> bool:
            order = compare(shares[(parent, a.w.name)], shares[(parent, b.w.name)])
            if order:
                return order < 0
            return self.order_key(a.w) < self.order_key(b.w)

        def play(cohort: Any) -> Entry | None:
            candidates = [c for c in (play(child) for child in cohort.cohorts) if c is not None]
            candidates += [by_queue[q.name] for q in cohort.queues if q.name in by_queue]
            if not candidates:
                return None
            best = candidates[0]
            for current in candidates[1:]:
                if better(current, best, cohort.name):
                    best = current
            return best

        winner = play(root)
        assert winner is not None
        return winner

    def fits(self, e: Entry) -> bool:
        """Kueue's fits: the entry's usage is available once its own victims are gone."""
        node = self.cache.node(e.w.cluster_queue)
        return without(self.cache, [t.workload for t in e.assignment.targets],
                       lambda: all(v <= max(Decimal(0), available(node, fr)) for fr, v in e.assignment.usage.items()))

    def pending(self, w: Workload, reason: str) -> None:
        previous = self.outcomes[w.name]
        state: State = "preempted" if previous.preempted_by else "pending"
        prefix = f"preempted by {previous.preempted_by}; now pending: " if previous.preempted_by else ""
        self.outcomes[w.name] = Outcome(w.name, w.cluster_queue, state, reason=prefix + reason,
                                        preempted_by=previous.preempted_by)

    def cycle(self) -> tuple[bool, bool]:
        """One scheduling cycle: (anything happened, quota was released)."""
        heads = self.heads()
        if not heads:
            return False, False
        entries = [self.nominate(w) for w in heads]
        held: list[tuple[str, dict[FlavorResource, Decimal]]] = []  # usage held for this cycle only
        preempted: set[str] = set()
        progress = released = False
        for e in self.ordered(entries):
            w, assignment = e.w, e.assignment
            if assignment.mode == NOFIT_MODE or (assignment.mode == PREEMPT_MODE and not assignment.targets):
                if assignment.mode == PREEMPT_MODE and self.cache.queues[w.cluster_queue].reclaim != "Any":
                    hold = reservation(self.cache, w.cluster_queue, assignment)
                    self.cache.add_usage(w.cluster_queue, hold)
                    held.append((w.cluster_queue, hold))
                self.pending(w, assignment.reason)
                self.sticky.pop(w.cluster_queue, None)
                if not assignment.pending_flavors():
                    self.set_aside.add(w.name)
                continue
            if any(t.workload.name in preempted for t in assignment.targets) or not self.fits(e):
                self.resume.pop(w.name, None)  # skipped: tried again next cycle, every flavor
                continue
            progress = True
            if assignment.mode == FIT_MODE:
                self.cache.admit(w, dict(assignment.flavors))
                self.dequeue(w)
                self.sticky.pop(w.cluster_queue, None)
                self.resume.pop(w.name, None)
                self.outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(assignment.flavors),
                                                admitted_at=w.admitted_at)
                continue
            self.cache.add_usage(w.cluster_queue, assignment.usage)
            held.append((w.cluster_queue, dict(assignment.usage)))
            for target in assignment.targets:
                victim = target.workload
                preempted.add(victim.name)
                self.cache.evict(victim)
                if victim.replaced_on_eviction:
                    victim.creation, self.next_creation = self.next_creation, self.next_creation + 1
                self.enqueue(victim)  # queued again: in its old place, or as the newest when a new pod replaces it
                self.outcomes[victim.name] = Outcome(victim.name, victim.cluster_queue, "preempted",
                                                     reason=f"preempted by {w.name}", preempted_by=w.name)
                self.preemptions.append((victim.name, w.name))
            released = True
            self.resume.pop(w.name, None)
            if self.cache.queues[w.cluster_queue].strategy != "StrictFIFO":
                self.sticky[w.cluster_queue] = w.name
            self.pending(w, "waiting for the preemption of " + ", ".join(t.workload.name for t in assignment.targets))
        for queue, hold in held:
            self.cache.add_usage(queue, hold, -1)
        if released:  # rule 9: released quota retries every set-aside workload, in queue order
            self.set_aside.clear()
            self.cursor = {name: 0 for name in self.queues}
        return progress, released

    def state(self) -> tuple[Any, ...]:
        return (frozenset(self.cache.running), tuple(sorted(self.sticky.items())),
                tuple(tuple(e[-1].name for e in self.queues[name]) for name in sorted(self.queues)))


def simulate(
    *,
    flavors: Iterable[Mapping[str, Any]],
    cluster_queues: Iterable[Mapping[str, Any]],
    workloads: Iterable[Workload],
    priority_classes: Iterable[Mapping[str, Any]] = (),
    selector_rule: SelectorRule = "current",
    cohorts: Iterable[Mapping[str, Any]] = (),
    fair_sharing: FairSharing | bool | None = None,
    cycles: int | None = None,
) -> Result:
    """Run admission cycles until nothing changes (or `cycles` of them); see the module docstring of `kueue`."""
    cache = build_cache(flavors, cluster_queues, priority_classes, selector_rule, cohorts)
    items = [Workload(**{**w.__dict__}) for w in workloads]  # never mutate the caller's objects
    names = [w.name for w in items]
    if len(set(names)) != len(names):
        raise ValueError(f"workload names must be unique: {sorted({n for n in names if names.count(n) > 1})}")
    fs = FairSharing() if fair_sharing is True else (fair_sharing or None)
    sim = Simulation(cache, [cache.counting_pods(w) for w in items], fs)
    seen: dict[tuple[Any, ...], int] = {}  # state after a cycle with preemptions -> preemptions made before it
    loop: list[tuple[str, str]] = []
    limit = CYCLE_LIMIT if cycles is None else cycles
    for _ in range(limit):
        progress, released = sim.cycle()
        if not progress and not sim.heads():
            break
        if released:
            # Kueue's rules allow a ring (A reclaims from B, B preempts C of lower priority, C's queue reclaims
            # from A): Kueue would evict without end. Only a preemption can bring a state back, so look then.
            now = sim.state()
            if now in seen:
                loop = sim.preemptions[seen[now]:]
                break
            seen[now] = len(sim.preemptions)
    else:
        if cycles is None:
            raise RuntimeError(f"the simulation did not settle after {CYCLE_LIMIT} cycles")
    return _result(sim, loop)


def _result(sim: Simulation, loop: list[tuple[str, str]]) -> Result:
    cache, outcomes = sim.cache, sim.outcomes
    for victim_name, preemptor in loop:
        outcomes[victim_name] = Outcome(victim_name, outcomes[victim_name].cluster_queue, "preempted",
                                        reason=f"evicted again and again: {describe_loop(loop)}", preempted_by=preemptor)
    for name, queue in sim.queues.items():
        if cache.queues[name].strategy != "StrictFIFO" or name in cache.inactive:
            continue
        blocked = [e[-1] for e in queue]
        if blocked and blocked[0].name in sim.set_aside:
            head = blocked[0]
            for w in blocked[1:]:
                outcomes[w.name].reason = f"waiting behind {head.name} (StrictFIFO): {outcomes[head.name].reason}"
    for w in sim.unknown:
        outcomes[w.name].reason = f"ClusterQueue {w.cluster_queue} does not exist"
    for w in cache.running.values():
        if any(w.name == victim for victim, _ in loop):
            continue
        outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(w.admitted_flavors or {}),
                                   admitted_at=w.admitted_at)
    for w in sim.items:
        outcomes[w.name].queued_at = w.creation
    nominal = {q.name: {k: v.nominal for k, v in q.quotas.items()} for q in cache.queues.values()}
    return Result(outcomes, cache.usage_by_queue(), nominal, sim.preemptions, loop, _cohorts(cache))


def _cohorts(cache: Cache) -> dict[str, CohortState]:
    states = {}
    for name, node in sorted(cache.cohorts.items()):
        used: dict[FlavorResource, Decimal] = {}
        holds: dict[FlavorResource, Decimal] = {}
        for queue in node.subtree_queues():
            for fr, amount in queue.usage.items():
                used[fr] = used.get(fr, Decimal(0)) + amount
        below, members = [node], [node]
        while below:
            below = [child for n in below for child in n.cohorts]
            members += below
        for member in members + node.subtree_queues():
            for fr, quota in member.quotas.items():
                holds[fr] = holds.get(fr, Decimal(0)) + quota.nominal
        states[name] = CohortState(name, node.parent.name if node.parent else None,
                                   {fr: q.nominal for fr, q in node.quotas.items()}, dict(node.subtree), used, holds)
    return states


def describe_loop(loop: list[tuple[str, str]]) -> str:
    return "; ".join(f"{preemptor} preempts {victim}" for victim, preemptor in loop) + "; and again"

"""The admission loop: KUEUE.md rules 6 (queue order, BestEffortFIFO and StrictFIFO) and 9 (release),
cycle after cycle until nothing changes."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Any

from generator.admission.cache import Cache
from generator.admission.flavorassigner import FIT, NO_FIT, PREEMPT, RECLAIM, assign
from generator.admission.objects import ClusterQueue, Outcome, Result, SelectorRule, State, Workload, flavor_from_manifest

CYCLE_LIMIT = 100_000


def simulate(
    *,
    flavors: Iterable[Mapping[str, Any]],
    cluster_queues: Iterable[Mapping[str, Any]],
    workloads: Iterable[Workload],
    priority_classes: Iterable[Mapping[str, Any]] = (),
    selector_rule: SelectorRule = "current",
) -> Result:
    """Run admission cycles until nothing changes; see the module docstring."""
    sim = Cache([flavor_from_manifest(f) for f in flavors], [ClusterQueue.from_manifest(q) for q in cluster_queues],
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

    def dequeue(w: Workload) -> None:
        queue = queues[w.cluster_queue]
        del queue[bisect.bisect_left(queue, (*order_key(w), id(w)))]
    preemptions: list[tuple[str, str]] = []
    cursor = {name: 0 for name in queues}
    reserved: list[Workload] = []
    seen: dict[tuple[Any, ...], int] = {}  # state after a cycle with preemptions -> preemptions made before it
    loop: list[tuple[str, str]] = []
    for _ in range(CYCLE_LIMIT):
        # Rule 7: a preemptor is admitted in the cycle after its victims went, on the quota they freed, whether
        # or not it is its queue's head now; holding that quota until then keeps others from taking it.
        for w in reserved:
            assignment = dict(w.admitted_flavors or {})
            sim.release(w, sim.usage)
            sim.admit(w, assignment)
            dequeue(w)
            outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", assignment, admitted_at=w.admitted_at)
        reserved = []
        heads = []
        for name, queue in sorted(queues.items()):
            while cursor[name] < len(queue) and queue[cursor[name]][-1].name in set_aside and sim.queues[name].strategy != "StrictFIFO":
                cursor[name] += 1
            if cursor[name] < len(queue) and queue[cursor[name]][-1].name not in set_aside:
                heads.append(queue[cursor[name]][-1])
        if not heads:
            break
        plans = sorted(((assign(sim, w), w) for w in heads), key=lambda p: (p[0][4], order_key(p[1])))
        released = False
        changed = False
        for plan, w in plans:
            # An earlier head of this cycle may have taken quota: assign again after any change.
            rank, assignment, victims, reason, _ = assign(sim, w) if changed else plan
            changed = changed or rank != NO_FIT
            if rank == FIT:
                sim.admit(w, assignment)
                dequeue(w)
                outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(assignment), admitted_at=w.admitted_at)
            elif rank in (PREEMPT, RECLAIM):
                for victim in victims:
                    sim.evict(victim)
                    victim.creation, next_creation = next_creation, next_creation + 1  # its replacement queues again
                    bisect.insort(queues[victim.cluster_queue], (*order_key(victim), id(victim), victim))
                    outcomes[victim.name] = Outcome(victim.name, victim.cluster_queue, "preempted",
                                                    reason=f"preempted by {w.name}", preempted_by=w.name)
                    preemptions.append((victim.name, w.name))
                released = True
                w.admitted_flavors = dict(assignment)
                sim.charge(w, sim.usage)
                reserved.append(w)
                set_aside.add(w.name)  # not a head again before its admission
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
            # Kueue's rules allow a ring (A reclaims from B, B preempts C of lower priority, C's queue reclaims
            # from A): Kueue would evict without end. Only a preemption can bring a state back, so look then.
            now = (frozenset(sim.running), frozenset(w.name for w in reserved),
                   tuple(tuple(e[-1].name for e in queues[name]) for name in sorted(queues)))
            if now in seen:
                loop = preemptions[seen[now]:]
                break
            seen[now] = len(preemptions)
    else:
        raise RuntimeError(f"the simulation did not settle after {CYCLE_LIMIT} cycles")
    for victim_name, preemptor in loop:
        outcomes[victim_name] = Outcome(victim_name, outcomes[victim_name].cluster_queue, "preempted",
                                   reason=f"evicted again and again: {describe_loop(loop)}", preempted_by=preemptor)
    for name, queue in queues.items():
        if sim.queues[name].strategy == "StrictFIFO" and cursor[name] < len(queue):
            head = queue[cursor[name]][-1]
            for entry in queue[cursor[name] + 1:]:
                w = entry[-1]
                outcomes[w.name].reason = f"waiting behind {head.name} (StrictFIFO): {outcomes[head.name].reason}"
    for w in unknown:
        outcomes[w.name].reason = f"ClusterQueue {w.cluster_queue} does not exist"
    for w in sim.running.values():
        if any(w.name == victim for victim, _ in loop):
            continue
        outcomes[w.name] = Outcome(w.name, w.cluster_queue, "admitted", dict(w.admitted_flavors or {}),
                                   admitted_at=w.admitted_at)
    nominal = {q.name: {k: v.nominal for k, v in q.quotas.items()} for q in sim.queues.values()}
    return Result(outcomes, sim.usage, nominal, preemptions, loop)


def describe_loop(loop: list[tuple[str, str]]) -> str:
    return "; ".join(f"{preemptor} preempts {victim}" for victim, preemptor in loop) + "; and again"

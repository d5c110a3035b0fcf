"""Single steps of the simulator's Kueue scheduler, each on its own: the flavors a workload would get, and the
victims a preemptor would choose. Kueue's own unit tests exercise these steps (flavorassigner.Assign,
Preemptor.GetTargets); checking the simulator against them needs the same entry points."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from generator.admission.fairsharing import fair_targets
from generator.admission.flavorassigner import POSSIBILITIES, Assignment, assign
from generator.admission.hierarchy import FlavorResource
from generator.admission.objects import FairSharing, SelectorRule, Workload
from generator.admission.preemption import Target, classical_targets
from generator.admission.scheduler import admit_running, build_cache


def _setup(flavors: Iterable[Mapping[str, Any]], cluster_queues: Iterable[Mapping[str, Any]],
           cohorts: Iterable[Mapping[str, Any]], running: Iterable[Workload],
           priority_classes: Iterable[Mapping[str, Any]], selector_rule: SelectorRule) -> Any:
    cache = build_cache(flavors, cluster_queues, priority_classes, selector_rule, cohorts)
    admit_running(cache, [cache.counting_pods(replace(w)) for w in running])
    return cache


def _finder(cache: Any, fair_sharing: FairSharing | None) -> Any:
    def find(w: Workload, needed: set[FlavorResource], usage: Mapping[FlavorResource, Decimal]) -> list[Target]:
        if fair_sharing is not None:
            return fair_targets(cache, w, needed, usage, fair_sharing.preemption_strategies)
        return classical_targets(cache, w, needed, usage)
    return find


def preemption_targets(*, flavors: Iterable[Mapping[str, Any]], cluster_queues: Iterable[Mapping[str, Any]],
                       running: Iterable[Workload], preemptor: Workload, usage: Mapping[FlavorResource, Decimal],
                       needed: Iterable[FlavorResource], cohorts: Iterable[Mapping[str, Any]] = (),
                       priority_classes: Iterable[Mapping[str, Any]] = (), fair_sharing: FairSharing | None = None,
                       ) -> list[tuple[str, str]]:
    """(victim, Kueue's preemption reason) for a preemptor that would hold `usage` and needs room in `needed`."""
    cache = _setup(flavors, cluster_queues, cohorts, running, priority_classes, "current")
    targets = _finder(cache, fair_sharing)(cache.counting_pods(replace(preemptor)), set(needed), dict(usage))
    return [(t.workload.name, t.reason) for t in targets]


def flavor_assignment(*, flavors: Iterable[Mapping[str, Any]], cluster_queues: Iterable[Mapping[str, Any]],
                      running: Iterable[Workload], workload: Workload, cohorts: Iterable[Mapping[str, Any]] = (),
                      priority_classes: Iterable[Mapping[str, Any]] = (), fair_sharing: FairSharing | None = None,
                      selector_rule: SelectorRule = "current",
                      oracle: Callable[[FlavorResource, Decimal], tuple[str, int]] | None = None) -> Assignment:
    """The assignment a pending workload would get now: mode, flavor per resource, borrowing distance, victims.
    `oracle` stands in for Kueue's preemption oracle, as Kueue's own flavor-assigner tests do: given a (flavor,
    resource) and an amount, NoCandidates, Preempt or Reclaim, and the borrowing distance after preempting."""
    cache = _setup(flavors, cluster_queues, cohorts, running, priority_classes, selector_rule)

    def stub(fr: FlavorResource, amount: Decimal) -> tuple[int, int]:
        assert oracle is not None
        possibility, borrow = oracle(fr, amount)
        return POSSIBILITIES[possibility], borrow

    return assign(cache, cache.counting_pods(replace(workload)), _finder(cache, fair_sharing), fair_sharing=fair_sharing is not None,
                  oracle=stub if oracle else None)

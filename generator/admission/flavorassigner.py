"""Which flavor a workload gets: KUEUE.md rules 3 (taints, selectors), 4 (fit) and 5 (flavor fungibility), each
resource group on its own, flavors in order, as Kueue's flavorassigner does (kubernetes-sigs/kueue v0.16
pkg/scheduler/flavorassigner/flavorassigner.go: findFlavorForPodSets, fitsResourceQuota, isPreferred,
shouldTryNextFlavor).

A flavor is judged per requested resource by a mode and a borrowing distance (0: the ClusterQueue's own quota; the
height of the lowest cohort subtree whose quota holds the request otherwise). Preemption is considered only when the
request fits the queue's nominal quota, or a subtree below the root could be reclaimed, or the queue may preempt
while borrowing (borrowWithinCohort, or fair sharing with reclaimWithinCohort); the preemptor then tells whether it
would find victims (Kueue's preemption oracle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from generator.admission.cache import Cache
from generator.admission.hierarchy import (
    ZERO,
    FlavorResource,
    available,
    lowest_subtree_that_fits,
    potential_available,
)
from generator.admission.objects import ClusterQueue, ResourceGroup, Workload, expression_holds, show_amount, tolerates
from generator.admission.preemption import Target, without

# Preemption modes of a flavor, best last (Kueue's preemptionMode).
NO_FIT, NO_CANDIDATES, PREEMPT, RECLAIM, FIT = range(5)
# What a Kueue-wide assignment is (its FlavorAssignmentMode): NoFit, Preempt (with or without candidates), Fit.
NOFIT_MODE, PREEMPT_MODE, FIT_MODE = "NoFit", "Preempt", "Fit"
WORST = (NO_FIT, 1 << 30)

# (workload, the (flavor, resource) pairs needing preemption, the usage it would hold) -> victims
TargetFinder = Callable[[Workload, set[FlavorResource], Mapping[FlavorResource, Decimal]], list[Target]]
# Kueue's preemption oracle for one (flavor, resource) and amount: (NO_CANDIDATES | PREEMPT | RECLAIM, borrowing after)
Oracle = Callable[[FlavorResource, Decimal], tuple[int, int]]
POSSIBILITIES = {"NoCandidates": NO_CANDIDATES, "Preempt": PREEMPT, "Reclaim": RECLAIM}


@dataclass
class Assignment:
    mode: str  # NoFit | Preempt | Fit
    flavors: dict[str, str] = field(default_factory=dict)  # resource -> flavor
    modes: dict[str, int] = field(default_factory=dict)  # resource -> preemption mode of its flavor
    borrowing: int = 0  # the largest borrowing distance of its resources
    usage: dict[FlavorResource, Decimal] = field(default_factory=dict)
    reason: str = ""
    tried: dict[str, int] = field(default_factory=dict)  # resource -> last flavor index tried; -1: start over
    targets: list[Target] = field(default_factory=list)

    def needs_preemption(self) -> set[FlavorResource]:
        return {(self.flavors[r], r) for r, m in self.modes.items() if m in (NO_CANDIDATES, PREEMPT, RECLAIM)}

    def pending_flavors(self) -> bool:
        return any(i != -1 for i in self.tried.values())


class Shortfall(NamedTuple):
    """Why a flavor's quota does not take a request at once (written out only when it is reported)."""

    fr: FlavorResource
    used: Decimal
    nominal: Decimal
    amount: Decimal

    def __str__(self) -> str:
        res = self.fr[1]
        return (f"{res} in {self.fr[0]}: {show_amount(self.used, res)} used of {show_amount(self.nominal, res)}, "
                f"needs {show_amount(self.amount, res)}")


# Rule 3: taints, then selector and required affinity against the flavor's labels.
def flavor_rejection(cache: Cache, w: Workload, flavor_name: str, group: ResourceGroup) -> str | None:
    flavor = cache.flavors.get(flavor_name)
    if flavor is None:
        return f"flavor {flavor_name} has no ResourceFlavor"
    for taint in flavor.node_taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates([*w.tolerations, *flavor.tolerations], taint):
            return f"{flavor_name}: untolerated taint {taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"
    if cache.selector_rule == "union":
        keys = {k for name in group.flavors if name in cache.flavors for k in cache.flavors[name].node_labels}
    else:
        keys = set(flavor.node_labels)
    for key, value in w.node_selector.items():
        if key in keys and flavor.node_labels.get(key) != value:
            return f"{flavor_name}: nodeSelector {key}={value} does not match the flavor's node labels"
    if w.node_affinity:
        relevant = [[e for e in term if e.get("key") in keys] for term in w.node_affinity]
        if not any(all(expression_holds(e, flavor.node_labels) for e in term) for term in relevant):
            return f"{flavor_name}: required node affinity does not match the flavor's node labels"
    return None


def preferred(a: tuple[int, int], b: tuple[int, int], preference: str | None) -> bool:
    """Kueue's isPreferred: by default the better mode wins, then less borrowing; with BorrowingOverPreemption less
    borrowing wins first (PreemptionOverBorrowing is the default order)."""
    if a[0] == NO_FIT:
        return False
    if b[0] == NO_FIT:
        return True
    if preference == "BorrowingOverPreemption" and a[1] != b[1]:
        return a[1] < b[1]
    if preference == "BorrowingOverPreemption":
        return a[0] > b[0]
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] < b[1]


def try_next(mode: tuple[int, int], queue: ClusterQueue) -> bool:
    """Kueue's shouldTryNextFlavor (rule 5)."""
    if mode[0] in (NO_FIT, NO_CANDIDATES):
        return True
    if mode[0] in (PREEMPT, RECLAIM) and not queue.preempt_stops:
        return True
    return mode[1] != 0 and not queue.borrow_stops


class Assigner:
    def __init__(self, cache: Cache, w: Workload, find_targets: TargetFinder, *, fair_sharing: bool,
                 oracle: Oracle | None = None) -> None:
        self.cache, self.w, self.find_targets = cache, w, find_targets
        self.queue = cache.queues[w.cluster_queue]
        self.node = cache.node(w.cluster_queue)
        self.fair_sharing = fair_sharing
        self.oracle = oracle or self.simulate_preemption
        # No policy lets this queue preempt anyone: Kueue's oracle would find no candidates.
        self.may_preempt = not (self.queue.within == "Never" and (self.queue.reclaim == "Never" or self.node.parent is None))
        self.while_borrowing = self.preempt_while_borrowing()

    def simulate_preemption(self, fr: FlavorResource, amount: Decimal) -> tuple[int, int]:
        """Kueue's preemption oracle: would the preemptor find victims for this one pair, and how far would the
        workload borrow once they are gone?"""
        victims = self.find_targets(self.w, {fr}, {fr: amount}) if self.may_preempt else []
        if not victims:
            return NO_CANDIDATES, lowest_subtree_that_fits(self.node, fr, amount)[0]
        after = without(self.cache, [t.workload for t in victims], lambda: lowest_subtree_that_fits(self.node, fr, amount)[0])
        own = any(t.workload.cluster_queue == self.queue.name for t in victims)
        return (PREEMPT if own else RECLAIM), after

    def preempt_while_borrowing(self) -> bool:
        return self.queue.borrow_within_cohort != "Never" or (self.fair_sharing and self.queue.reclaim != "Never")

    def fits_quota(self, fr: FlavorResource, amount: Decimal) -> tuple[int, int, Shortfall | None]:
        """Kueue's fitsResourceQuota: (mode, borrowing distance, why not at once)."""
        node = self.node
        if node.parent is None:  # no cohort: the queue's own quota is all there is
            nominal, used = node.subtree.get(fr, ZERO), node.usage.get(fr, ZERO)
            if amount <= max(ZERO, nominal - used):
                return FIT, 0, None
            reason = Shortfall(fr, used, self.queue.quotas[fr].nominal, amount)
            if amount > nominal:
                return NO_FIT, 0, reason
            return (*self.oracle(fr, amount), reason)
        if amount > potential_available(node, fr):
            return NO_FIT, 0, Shortfall(fr, node.usage.get(fr, ZERO), self.queue.quotas[fr].nominal, amount)
        borrow, may_reclaim = lowest_subtree_that_fits(node, fr, amount)
        if amount <= max(ZERO, available(node, fr)):
            return FIT, borrow, None
        nominal = self.queue.quotas[fr].nominal
        reason = Shortfall(fr, node.usage.get(fr, ZERO), nominal, amount)
        if amount <= nominal or may_reclaim or self.while_borrowing:
            mode, after = self.oracle(fr, amount)
            return mode, after, reason
        return NO_FIT, borrow, reason

    def group(self, group: ResourceGroup, resources: list[str], start: int) -> tuple[
            str | None, dict[str, tuple[int, int]], int, list[Shortfall], list[str]]:
        """(flavor, resource -> (mode, borrowing), last index tried, reasons, rejections) for one resource group."""
        best: str | None = None
        best_mode = WORST
        best_modes: dict[str, tuple[int, int]] = {}
        reasons: list[Shortfall] = []
        rejections: list[str] = []
        attempted = -1
        fits_quota, requests, preference = self.fits_quota, self.w.requests, self.queue.preference
        for index in range(start, len(group.flavors)):
            attempted = index
            flavor = group.flavors[index]
            rejection = flavor_rejection(self.cache, self.w, flavor, group)
            if rejection:
                rejections.append(rejection)
                continue
            mode = (FIT, 0)
            modes: dict[str, tuple[int, int]] = {}
            for res in resources:
                this_mode, borrow, reason = fits_quota((flavor, res), requests[res])
                if reason:
                    reasons.append(reason)
                if preferred(mode, (this_mode, borrow), preference):
                    mode = (this_mode, borrow)
                if mode[0] == NO_FIT:
                    break
                modes[res] = (this_mode, borrow)
            if not try_next(mode, self.queue):
                best, best_mode, best_modes = flavor, mode, modes
                break
            if preferred(mode, best_mode, preference):
                best, best_mode, best_modes = flavor, mode, modes
        tried = -1 if attempted == len(group.flavors) - 1 else attempted
        if best_mode[0] == FIT:
            reasons = []
        return best, best_modes, tried, reasons, rejections

    def assign(self, resume: Mapping[str, int] | None = None) -> Assignment:
        requested = {r: a for r, a in self.w.requests.items() if a > 0 or any(r in g.covered for g in self.queue.groups)}
        uncovered = sorted(r for r in requested if not any(r in g.covered for g in self.queue.groups))
        if uncovered:
            return Assignment(NOFIT_MODE, reason=f"{', '.join(uncovered)} is not covered by ClusterQueue {self.queue.name}")
        result = Assignment(FIT_MODE)
        failures: list[str] = []
        all_reasons: list[str] = []
        for group in self.queue.groups:
            resources = [r for r in group.covered if r in requested]  # the queue's order: stable messages
            if not resources:
                continue
            start = (resume or {}).get(resources[0], -1) + 1
            flavor, modes, tried, reasons, rejections = self.group(group, resources, start)
            for res in resources:
                result.tried[res] = tried
            if flavor is None:  # Kueue reports every group that does not fit, so go on collecting
                failures.append("; ".join([*map(str, reasons), *rejections]) or "no flavor")
                continue
            all_reasons += [*map(str, reasons), *rejections]
            for res, (mode, borrow) in modes.items():
                result.flavors[res] = flavor
                result.modes[res] = mode
                result.borrowing = max(result.borrowing, borrow)
                result.usage[(flavor, res)] = requested[res]
        if failures:
            return Assignment(NOFIT_MODE, reason="; ".join(failures), tried=result.tried)
        if all(m == FIT for m in result.modes.values()):
            return result
        result.mode = PREEMPT_MODE
        result.reason = "; ".join(all_reasons)
        return result


def assign(cache: Cache, w: Workload, find_targets: TargetFinder, *, fair_sharing: bool,
           resume: Mapping[str, int] | None = None, oracle: Oracle | None = None) -> Assignment:
    """Flavors for every resource group of the workload and, when it needs preemption, its victims."""
    if w.cluster_queue not in cache.queues:
        return Assignment(NOFIT_MODE, reason=f"ClusterQueue {w.cluster_queue} does not exist")
    if w.cluster_queue in cache.inactive:
        return Assignment(NOFIT_MODE, reason=cache.inactive[w.cluster_queue])
    assignment = Assigner(cache, w, find_targets, fair_sharing=fair_sharing, oracle=oracle).assign(resume)
    if assignment.mode == PREEMPT_MODE:
        assignment.targets = find_targets(w, assignment.needs_preemption(), assignment.usage)
    return assignment

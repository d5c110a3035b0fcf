"""Which flavor a workload gets: KUEUE.md rules 3 (taints, selectors), 4 (fit) and 5 (flavor fungibility),
each resource group on its own, flavors in order, as Kueue's flavorassigner does."""

from __future__ import annotations

from decimal import Decimal

from generator.admission.cache import Cache
from generator.admission.objects import ClusterQueue, ResourceGroup, Usage, Workload, expression_holds, show_amount, tolerates
from generator.admission.preemption import victims as find_victims

# Ranks of a flavor assignment, best last (rule 5: fit > reclaim > preempt > no candidates).
NO_FIT, PREEMPT, RECLAIM, FIT = 0, 1, 2, 3


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


def fit(cache: Cache, w: Workload, queue: ClusterQueue, flavor: str, resources: list[str],
        usage: dict[str, Usage]) -> tuple[bool, bool, str | None, bool]:
    """(fits now, needs borrowing, reason when not, could ever fit)."""
    borrow, reason, possible = False, None, True
    for res in resources:
        need = w.requests[res]
        key = (flavor, res)
        if key not in queue.quotas:
            return False, False, f"{res} has no quota in {flavor}", False
        now, ceiling = cache.available(queue, key, usage)
        used = usage[queue.name].get(key, Decimal(0))
        if need > ceiling:
            possible = False
        if need > now and reason is None:
            reason = (f"{res} in {flavor}: {show_amount(used, res)} used of "
                      f"{show_amount(queue.quotas[key].nominal, res)}, needs {show_amount(need, res)}")
        if used + need > queue.quotas[key].nominal:
            borrow = True
    return reason is None, borrow, reason, possible


def assign(cache: Cache, w: Workload) -> tuple[int, dict[str, str], list[Workload], str, bool]:
    """Rule 5 per resource group: (rank, resource -> flavor, victims, reason, borrows)."""
    queue = cache.queues.get(w.cluster_queue)
    if queue is None:
        return NO_FIT, {}, [], f"ClusterQueue {w.cluster_queue} does not exist", False
    requested = sorted(r for r, amount in w.requests.items() if amount > 0)
    uncovered = [r for r in requested if not any(r in g.covered for g in queue.groups)]
    if uncovered:
        return NO_FIT, {}, [], f"{', '.join(sorted(uncovered))} is not covered by ClusterQueue {queue.name}", False
    assignment: dict[str, str] = {}
    crowded: list[tuple[str, str]] = []  # (flavor, resource) pairs that need room made
    crowded_reasons: list[str] = []
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
            rejection = flavor_rejection(cache, w, flavor, group)
            if rejection:
                rejections.append(rejection)
                continue
            fits, borrow, reason, possible = fit(cache, w, queue, flavor, resources, cache.usage)
            if fits:
                option = (FIT, -int(borrow), flavor, [])
                if not borrow or queue.borrow_stops:
                    best = option
                    break
            else:
                reasons.append(reason or f"{flavor}: does not fit")
                found = find_victims(cache, w, queue, [(flavor, r) for r in resources]) if possible else None
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
        if rank != FIT:
            crowded += [(flavor, r) for r in resources]
            crowded_reasons += reasons
        assignment.update({r: flavor for r in resources})
    if failures:
        return NO_FIT, {}, [], "; ".join(failures), False
    if overall == FIT:
        return overall, assignment, [], "", borrows
    # Room for every group at once: one search, so a workload that holds quota in two groups is evicted once.
    found = find_victims(cache, w, queue, crowded)
    if not found:
        return NO_FIT, {}, [], "; ".join(crowded_reasons) + " (no set of preemptible workloads makes room in every " \
            "resource group at once)", False
    chosen, reclaim = found
    return min(overall, RECLAIM if reclaim else PREEMPT), assignment, chosen, "", borrows


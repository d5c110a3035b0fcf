"""Quota and usage in the cohort tree, as Kueue's scheduler cache keeps them (kubernetes-sigs/kueue v0.16
pkg/cache/scheduler: resource_node.go, the ClusterQueue and Cohort snapshots, and classical.FindHeightOfLowestSubtreeThatFits).

Every ClusterQueue and every Cohort is a node. A node's subtree quota is its own nominal quota plus what each child
lends it (the child's subtree quota less what the child's lendingLimit keeps local). A node's usage is what counts
against its subtree quota: a ClusterQueue's own usage, a Cohort's children's usage beyond what they keep local. A
ClusterQueue of a flat cohort (`spec.cohort` naming no Cohort object) is the child of a Cohort with no quota of its
own, which is exactly Kueue's implicit cohort.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from generator.admission.objects import Quota

FlavorResource = tuple[str, str]  # (flavor, resource)
ZERO = Decimal(0)


@dataclass(eq=False)
class Node:
    """A ClusterQueue or a Cohort in the tree."""

    name: str
    is_queue: bool
    quotas: dict[FlavorResource, Quota]
    weight: float = 1.0  # spec.fairSharing.weight
    parent: Node | None = None
    cohorts: list[Node] = field(default_factory=list)  # child Cohorts
    queues: list[Node] = field(default_factory=list)  # child ClusterQueues
    subtree: dict[FlavorResource, Decimal] = field(default_factory=dict)
    usage: dict[FlavorResource, Decimal] = field(default_factory=dict)
    local: dict[FlavorResource, Decimal] = field(default_factory=dict)  # kept from the parent by lendingLimit

    def ancestors(self) -> Iterator[Node]:
        """Parent first, root last."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def root(self) -> Node:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def subtree_queues(self) -> list[Node]:
        found = list(self.queues)
        for child in self.cohorts:
            found += child.subtree_queues()
        return found

    def path(self) -> str:
        """/root/.../name, as Kueue's preemption messages write it."""
        return "/" + "/".join([n.name for n in reversed(list(self.ancestors()))] + [self.name])


def compute_subtree(node: Node) -> None:
    """Kueue's updateCohortResourceNode: subtree quota from the leaves up, usage from zero."""
    node.subtree = {fr: q.nominal for fr, q in node.quotas.items()}
    node.usage = {}
    for child in [*node.cohorts, *node.queues]:
        compute_subtree(child)
        for fr, amount in child.subtree.items():
            node.subtree[fr] = node.subtree.get(fr, ZERO) + amount - child.local.get(fr, ZERO)
    node.local = {}
    for fr, amount in node.subtree.items():
        quota = node.quotas.get(fr)
        if quota is not None and quota.lending_limit is not None:
            node.local[fr] = max(ZERO, amount - quota.lending_limit)


def local_available(node: Node, fr: FlavorResource) -> Decimal:
    return max(ZERO, node.local.get(fr, ZERO) - node.usage.get(fr, ZERO))


def add_usage(node: Node, fr: FlavorResource, delta: Decimal) -> None:
    """Add (or, negative, remove) usage; what exceeds the node's local quota is stored in its parent."""
    local = node.local.get(fr, ZERO)
    before = node.usage.get(fr, ZERO)
    after = before + delta
    node.usage[fr] = after
    if node.parent is not None:
        shift = max(ZERO, after - local) - max(ZERO, before - local)
        if shift:
            add_usage(node.parent, fr, shift)


def available(node: Node, fr: FlavorResource) -> Decimal:
    """What the node may still take of fr: its local room plus what its ancestors offer, within borrowingLimits
    (Kueue's available; may be negative after an overadmission)."""
    if node.parent is None:
        return node.subtree.get(fr, ZERO) - node.usage.get(fr, ZERO)
    offered = available(node.parent, fr)
    quota = node.quotas.get(fr)
    if quota is not None and quota.borrowing_limit is not None:
        local = node.local.get(fr, ZERO)
        stored = node.subtree.get(fr, ZERO) - local
        used_in_parent = max(ZERO, node.usage.get(fr, ZERO) - local)
        offered = min(stored - used_in_parent + quota.borrowing_limit, offered)
    return local_available(node, fr) + offered


def potential_available(node: Node, fr: FlavorResource) -> Decimal:
    """The most the node could ever take of fr, with nothing else running."""
    if node.parent is None:
        return node.subtree.get(fr, ZERO)
    most = node.local.get(fr, ZERO) + potential_available(node.parent, fr)
    quota = node.quotas.get(fr)
    if quota is not None and quota.borrowing_limit is not None:
        most = min(node.subtree.get(fr, ZERO) + quota.borrowing_limit, most)
    return most


def borrowing_with(node: Node, fr: FlavorResource, amount: Decimal) -> bool:
    return node.usage.get(fr, ZERO) + amount > node.subtree.get(fr, ZERO)


def within_nominal(node: Node, frs: Iterator[FlavorResource] | set[FlavorResource] | list[FlavorResource]) -> bool:
    """Kueue's IsWithinNominalInResources."""
    return all(node.usage.get(fr, ZERO) <= node.subtree.get(fr, ZERO) for fr in frs)


def fits_in_quota(node: Node, requests: Mapping[FlavorResource, Decimal]) -> tuple[bool, dict[FlavorResource, Decimal]]:
    """Kueue's QuantitiesFitInQuota: whether the requests fit the node's subtree, and what its local room leaves."""
    fits = all(node.usage.get(fr, ZERO) + v <= node.subtree.get(fr, ZERO) for fr, v in requests.items())
    return fits, {fr: max(ZERO, v - local_available(node, fr)) for fr, v in requests.items()}


def height(cohort: Node) -> int:
    """The distance from a Cohort to its furthest leaf."""
    most = min(len(cohort.cohorts) + len(cohort.queues), 1)
    for child in cohort.cohorts:
        most = max(most, height(child) + 1)
    return most


def lowest_subtree_that_fits(queue: Node, fr: FlavorResource, amount: Decimal) -> tuple[int, bool]:
    """Kueue's FindHeightOfLowestSubtreeThatFits: (the height of the lowest subtree holding `amount` more of fr, 0
    for the ClusterQueue itself; whether that subtree is below the root, so that its quota can be reclaimed)."""
    if queue.parent is None:
        return 0, False
    if not borrowing_with(queue, fr, amount):
        return 0, True
    remaining = amount - local_available(queue, fr)
    for node in queue.ancestors():
        if not borrowing_with(node, fr, remaining):
            return height(node), node.parent is not None
        remaining -= local_available(node, fr)
    return height(queue.root()), False

"""Node fit: Kueue admits by quota, then the scheduler needs a node with room.

A pod that Kueue admitted carries the node labels and tolerations of its flavors; it runs only on a node
whose labels match and whose free GPUs, cpu and memory hold its requests. Nodes are not in any manifest:
they come from the portfolio (count and allocatable resources per flavor). Pods that are placed stay
where they are; a pod no node can hold waits, and is tried again when something is released.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from generator.admission.kueue import show_amount, tolerates


@dataclass(frozen=True)
class NodePool:
    """The nodes of one flavor: identical, each with the same labels, taints and allocatable resources."""

    flavor: str
    count: int
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    allocatable: Mapping[str, Decimal]


@dataclass
class Node:
    name: str
    pool: NodePool
    free: dict[str, Decimal]


@dataclass(frozen=True)
class PodPlacement:
    node: str | None
    reason: str = ""  # why no node holds the pod


@dataclass
class Nodes:
    pools: Sequence[NodePool]
    nodes: list[Node] = field(init=False)
    holders: dict[str, tuple[Node, dict[str, Decimal]]] = field(default_factory=dict)  # pod -> its node and requests

    def __post_init__(self) -> None:
        self.nodes = [Node(f"{pool.flavor}-{index}", pool, dict(pool.allocatable))
                      for pool in self.pools for index in range(1, pool.count + 1)]

    def release(self, pod: str) -> None:
        held = self.holders.pop(pod, None)
        if held:
            node, requests = held
            for resource, amount in requests.items():
                node.free[resource] += amount

    def place(self, pod: str, requests: Mapping[str, Decimal], selector: Mapping[str, str],
              tolerations: Sequence[Mapping[str, Any]], *, flavor: str) -> PodPlacement:
        """Put the pod on the first node that matches and has room (the scheduler's filter, without scoring)."""
        if pod in self.holders:
            return PodPlacement(self.holders[pod][0].name)
        matching = [n for n in self.nodes if all(n.pool.labels.get(k) == v for k, v in selector.items())
                    and all(tolerates(tolerations, t) for t in n.pool.taints
                            if t.get("effect") in ("NoSchedule", "NoExecute"))]
        if not matching:
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "no labels"
            return PodPlacement(None, f"no node of {flavor} matches ({wanted}); the flavor's node labels must be labels "
                                      "the nodes really carry")
        # Only the resources the nodes account for: a pod's request of anything else is not modelled here.
        counted = {r: a for r, a in requests.items() if a > 0 and r in matching[0].free}
        for node in matching:
            if all(node.free[r] >= a for r, a in counted.items()):
                for resource, amount in counted.items():
                    node.free[resource] -= amount
                self.holders[pod] = (node, dict(counted))
                return PodPlacement(node.name)
        for resource, amount in counted.items():
            if not any(n.free[resource] >= amount for n in matching):
                return PodPlacement(None, f"no node of {flavor} has {show_amount(amount, resource)} free {resource}")
        wanted = ", ".join(f"{show_amount(a, r)} {r}" for r, a in counted.items())
        return PodPlacement(None, f"no node of {flavor} has {wanted} free at once")

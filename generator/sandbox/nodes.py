"""The box's Nodes, made from the portfolio: the GPU nodes of each flavor as `plan` models them, and CPU workers.

The GPU nodes are `plan`'s node pools (generator.admission.plan.node_pools), so the box and the simulator
agree by construction on names (`<flavor>-<n>`), labels (the instance type, GPU feature discovery's
`nvidia.com/gpu.present`, the flavor's node labels), the GPU taint and the allocatable GPUs, cpu and memory.
The CPU workers hold what the portfolio does not describe: the upload and registration Jobs' pods.
kwok plays the kubelet of every Node annotated for it (generator.sandbox.kube.Kwok).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from generator.admission.plan import kueue_objects, node_pools
from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.box import Box, Component
from generator.sandbox.errors import SandboxError
from generator.sandbox.kube import KWOK_NODE_ANNOTATION, KWOK_NODE_VALUE

CPU_WORKERS = 2
CPU_WORKER = {"cpu": "32", "memory": "128Gi"}  # an m6i.8xlarge-sized worker: room for every Job pod of the tree
PODS_PER_NODE = "250"
WORKER_ROLE_LABEL = "node-role.kubernetes.io/worker"


def _amount(value: Decimal, resource: str) -> str:
    if resource == "memory":
        return f"{int(value)}"  # bytes: exact, whatever unit the portfolio used
    return f"{value.normalize():f}"


def _node(name: str, labels: dict[str, str], taints: list[dict[str, Any]], allocatable: dict[str, str]) -> dict[str, Any]:
    resources = {**allocatable, "pods": PODS_PER_NODE}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {KWOK_NODE_ANNOTATION: KWOK_NODE_VALUE},
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                "type": "kwok", **labels}},
        "spec": {"taints": taints} if taints else {},
        "status": {"capacity": resources, "allocatable": resources},
    }


def node_documents(portfolio: Portfolio, tree: Tree) -> list[dict[str, Any]]:
    """Every Node of the box: `nodes` of each flavor (as `plan` has them), then the CPU workers."""
    nodes = []
    for pool in node_pools(portfolio, kueue_objects(tree)):
        allocatable = {resource: _amount(amount, resource) for resource, amount in pool.allocatable.items()}
        taints = [{k: v for k, v in taint.items() if v != ""} for taint in pool.taints]
        for index in range(1, pool.count + 1):
            nodes.append(_node(f"{pool.flavor}-{index}", dict(pool.labels), taints, allocatable))
    for index in range(1, CPU_WORKERS + 1):
        nodes.append(_node(f"worker-{index}", {WORKER_ROLE_LABEL: ""}, [], dict(CPU_WORKER)))
    return nodes


class Nodes:
    """Creates the Nodes (kwok marks them Ready); `start` returns once every one is Ready and untainted by the
    node lifecycle controller, so the scheduler may place pods on them."""

    name = "nodes"

    def __init__(self, portfolio: Portfolio, tree: Tree) -> None:
        self.documents = node_documents(portfolio, tree)

    def start(self, box: Box) -> None:
        make_nodes(box, self.documents)


def make_nodes(box: Box, documents: list[dict[str, Any]]) -> None:
    """Create the Nodes `documents` and wait until kwok keeps every one Ready and schedulable."""
    for node in documents:
        status, body = box.request("POST", "/api/v1/nodes", node)
        if status != 201:
            raise SandboxError(f"nodes: the API server refused Node {node['metadata']['name']}: {_message(body)}")
    names = {n["metadata"]["name"] for n in documents}

    def ready() -> bool:
        _, listed = box.request("GET", "/api/v1/nodes")
        return names <= {n["metadata"]["name"] for n in listed.get("items", []) if _schedulable(n)}

    box.wait_until("kwok", ready, 60, what=f"keeping the {len(names)} Nodes Ready")


def _schedulable(node: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions") or []}
    not_ready = any(t["key"].startswith("node.kubernetes.io/") for t in node.get("spec", {}).get("taints") or [])
    return conditions.get("Ready") == "True" and not not_ready


def _message(body: Any) -> str:
    return str(body.get("message")) if isinstance(body, dict) else str(body)


def nodes(portfolio: Portfolio, tree: Tree) -> Component:
    return Nodes(portfolio, tree)

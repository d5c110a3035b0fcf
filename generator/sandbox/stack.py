"""Which components a box runs, in order: the one list the command and the tests start.

Core (etcd, API server, controller manager, scheduler, kwok), the portfolio's Nodes, the prerequisites
(CRDs, namespaces, Secrets, storage). The controllers that act on the tree (Kueue, KServe) join here, after
the prerequisites and before the tree is applied; `running` tells the live view which of them run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.box import Component
from generator.sandbox.kube import core
from generator.sandbox.nodes import Nodes
from generator.sandbox.prereqs import Prerequisites


@dataclass
class Stack:
    components: list[Component]
    running: set[str] = field(default_factory=set)  # the tree's controllers among them: "kueue", "kserve"


def stack(portfolio: Portfolio, tree: Tree, crd_dirs: list[Path]) -> Stack:
    return Stack([*core(), Nodes(portfolio, tree), Prerequisites(portfolio, tree, crd_dirs)])

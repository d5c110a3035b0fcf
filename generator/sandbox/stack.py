"""Which components a box runs, in order: the one list the command and the tests start.

Core (etcd, API server, controller manager, scheduler, kwok), the portfolio's Nodes, the prerequisites (CRDs,
namespaces, Secrets, storage), then the controllers that act on the tree: Kueue, then KServe (its pod mutator and
Kueue's pod webhook both act on a predictor pod, and Kueue must be serving before the first one is made). With
`argocd`, a Git server and Argo CD's application controller and repo-server join last, for a test that syncs the
tree through the real Argo CD rather than as `generator.sandbox.apply` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.argocd import ArgoCD
from generator.sandbox.box import Component
from generator.sandbox.gitserver import GitServer
from generator.sandbox.kserve import KServe
from generator.sandbox.kube import core
from generator.sandbox.kueue import Kueue
from generator.sandbox.nodes import Nodes
from generator.sandbox.prereqs import Prerequisites

CONTROLLERS = ("kueue", "kserve")


@dataclass
class Stack:
    components: list[Component]
    running: set[str] = field(default_factory=set)  # the tree's controllers among them: "kueue", "kserve"
    git: GitServer | None = None  # with argocd: the Git server Argo CD fetches the tree from
    argocd: ArgoCD | None = None


def stack(portfolio: Portfolio, tree: Tree, crd_dirs: list[Path], *, argocd: bool = False) -> Stack:
    parts = Stack([*core(), Nodes(portfolio, tree), Prerequisites(portfolio, tree, crd_dirs), Kueue(), KServe()],
                  set(CONTROLLERS))
    if argocd:
        parts.git, parts.argocd = GitServer(), ArgoCD(portfolio.gitops.argocd_namespace, crd_dirs)
        parts.components += [parts.git, parts.argocd]
    return parts

"""What a lint of the rendered tree reports, and the facts of the tree it may consult."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.render.common import Tree


@dataclass(frozen=True)
class TreeProblem:
    """A problem in an emitted document: file, document index, field path."""

    file: str
    document: int
    path: tuple[str | int, ...]
    rule: str
    message: str


def path_resources(tree: Tree, folder: str) -> int:
    """The resources `kustomize build folder` gives: its kustomization's files and folders, followed the way kustomize
    follows them, less what its patches delete."""
    found = tree.get(f"{folder}/kustomization.yaml")
    if not found:
        return 0
    kustomization = found[0]
    count = 0
    for entry in kustomization.get("resources") or []:
        target = posixpath.normpath(posixpath.join(folder, str(entry)))
        if target in tree:
            count += sum(1 for d in tree[target] if d.get("kind") != "Kustomization")
        else:
            count += path_resources(tree, target)
    return count - sum(1 for p in kustomization.get("patches") or [] if "$patch: delete" in str(p.get("patch", "")))


@dataclass(frozen=True)
class TreeFacts:
    """What a lint needs from the rest of the tree, gathered once: a lookup per document stays constant."""

    local_queues: frozenset[tuple[str | None, str]]
    # an Application's path -> the resources kustomize renders from it (none known: a lint of lone documents)
    path_resources: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: Tree) -> TreeFacts:
        paths = {str(((d.get("spec") or {}).get("source") or {}).get("path")) for docs in tree.values() for d in docs
                 if d.get("kind") == "Application"}
        return cls(frozenset((d["metadata"].get("namespace"), d["metadata"]["name"])
                             for docs in tree.values() for d in docs if d.get("kind") == "LocalQueue"),
                   {path: path_resources(tree, path) for path in paths})


TreeLint = Callable[[str, int, dict[str, Any], TreeFacts], Iterator[TreeProblem]]

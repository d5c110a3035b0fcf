"""What a lint of the rendered tree reports, and the facts of the tree it may consult."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TreeFacts:
    """What a lint needs from the rest of the tree, gathered once: a lookup per document stays constant."""

    local_queues: frozenset[tuple[str | None, str]]

    @classmethod
    def of(cls, tree: Tree) -> TreeFacts:
        return cls(frozenset((d["metadata"].get("namespace"), d["metadata"]["name"])
                             for docs in tree.values() for d in docs if d.get("kind") == "LocalQueue"))


TreeLint = Callable[[str, int, dict[str, Any], TreeFacts], Iterator[TreeProblem]]

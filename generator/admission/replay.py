"""The simulator's side of a differential run against the real Kueue: a portfolio, the tree rendered from it, and
a sequence of steps that switch models on and off; after each step, what Kueue decided for every model.

    steps = [Step(enable=("a",)), Step(disable=("b",), enable=("c",))]
    for states in replay(portfolio, tree, steps):
        states["a"]  # ModelOutcome(state="admitted", flavor="nvidia-l4-4gpu")

The other side (the control plane in a box) applies the same tree and steps and reads each model's Workload; a
difference in any step is a failing example. States are Kueue's: `admitted` (quota reserved on `flavor`, whether or
not a node holds the pod), `pending`, `preempted` (its pod was evicted to make room and its replacement waits), or
`off` (the model is stopped: no pod). `as_scenario` writes the steps and the simulator's answer as a scenario, so a
person can replay the case with `python -m generator scenarios` (and, later, against the real Kueue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.admission.kueue import SelectorRule
from generator.admission.plan import Cluster
from generator.model.portfolio import Portfolio
from generator.render.common import Tree


@dataclass(frozen=True)
class Step:
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelOutcome:
    state: str  # admitted | pending | preempted | off
    flavor: str | None = None
    placed: bool = True  # admitted and a node of its flavor holds it (the scheduler's part, not Kueue's)


@dataclass
class Replay:
    baseline: dict[str, ModelOutcome]
    steps: list[dict[str, ModelOutcome]] = field(default_factory=list)


def _outcomes(cluster: Cluster) -> dict[str, ModelOutcome]:
    snapshot = cluster.snapshot()
    out = {}
    for model in snapshot.models:
        state = "admitted" if model.state == "unschedulable" else model.state  # Kueue admitted it; no node has room
        out[model.name] = ModelOutcome(state, model.flavor if state == "admitted" else None, model.state != "unschedulable")
    return out


def replay(portfolio: Portfolio, tree: Tree, steps: Sequence[Step], *, start: Sequence[str] | None = None,
           selector_rule: SelectorRule = "current") -> Replay:
    """The baseline (the portfolio's active models, or `start`) and the state of every model after each step."""
    cluster = Cluster(portfolio, tree, selector_rule=selector_rule, start=start)
    result = Replay(_outcomes(cluster))
    for step in steps:
        cluster.apply(enable=list(step.enable), disable=list(step.disable))
        result.steps.append(_outcomes(cluster))
    return result


def as_scenario(name: str, description: str, steps: Sequence[Step], result: Replay,
                start: Sequence[str] | None = None) -> dict[str, Any]:
    """A portfolio `scenarios` entry: the steps, each expecting every model as the simulator decided."""
    def expect(states: dict[str, ModelOutcome]) -> dict[str, Any]:
        return {name: ({"state": o.state if o.placed else "unschedulable", "flavor": o.flavor} if o.flavor else o.state)
                for name, o in sorted(states.items())}

    entry: dict[str, Any] = {"name": name, "description": description}
    if start is not None:
        entry["start"] = list(start)
    entry["steps"] = []
    for number, (step, states) in enumerate(zip(steps, result.steps, strict=True), start=1):
        title = "; ".join(x for x in (f"enable {', '.join(step.enable)}" if step.enable else "",
                                      f"disable {', '.join(step.disable)}" if step.disable else "") if x)
        entry["steps"].append({"title": f"{number}: {title or 'nothing changes'}", "enable": list(step.enable),
                               "disable": list(step.disable), "expect": expect(states)})
    return entry

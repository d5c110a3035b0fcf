"""Scenarios: executable claims about admission. Each step changes which model pods exist; the
simulator's state after it must match the step's expectations."""

from __future__ import annotations

from dataclasses import dataclass

from generator.admission.kueue import SelectorRule
from generator.admission.plan import Cluster, Snapshot
from generator.model.portfolio import Expectation, Portfolio, Scenario, Step
from generator.render.common import Tree


@dataclass(frozen=True)
class Mismatch:
    model: str
    expected: str
    simulated: str


@dataclass
class StepRun:
    step: Step
    snapshot: Snapshot
    mismatches: list[Mismatch]


@dataclass
class ScenarioRun:
    scenario: Scenario
    baseline: Snapshot
    steps: list[StepRun]

    @property
    def passed(self) -> bool:
        return all(not s.mismatches for s in self.steps)


def describe(state: str, flavor: str | None) -> str:
    return f"{state} on {flavor}" if flavor else state


def _check(step: Step, snapshot: Snapshot) -> list[Mismatch]:
    mismatches = []
    for name, expected in step.expect.items():
        want = expected if isinstance(expected, Expectation) else Expectation(state=expected, flavor=None)
        got = snapshot.model(name)
        if got.state != want.state or (want.flavor and got.flavor != want.flavor):
            mismatches.append(Mismatch(name, describe(want.state, want.flavor),
                                       describe(got.state, got.flavor) + (f" ({got.reason})" if got.reason else "")))
    return mismatches


def run_scenario(portfolio: Portfolio, tree: Tree, scenario: Scenario, *,
                 selector_rule: SelectorRule = "current") -> ScenarioRun:
    cluster = Cluster(portfolio, tree, selector_rule=selector_rule, start=scenario.start)
    baseline = cluster.snapshot()
    steps = []
    for step in scenario.steps:
        snapshot = cluster.apply(enable=step.enable, disable=step.disable, update=step.update, strategy=step.strategy)
        steps.append(StepRun(step, snapshot, _check(step, snapshot)))
    return ScenarioRun(scenario, baseline, steps)


def run_all(portfolio: Portfolio, tree: Tree, *, selector_rule: SelectorRule = "current") -> list[ScenarioRun]:
    return [run_scenario(portfolio, tree, s, selector_rule=selector_rule) for s in portfolio.scenarios]

"""Admission checks on the rendered tree: the baseline is admitted, the scenarios hold."""

from __future__ import annotations

from generator.admission.plan import Snapshot
from generator.admission.scenarios import ScenarioRun
from generator.diagnostics import Problem
from generator.model.portfolio import Portfolio


def baseline_problems(portfolio: Portfolio, baseline: Snapshot) -> list[Problem]:
    """PF005: an active model that will not run at baseline: Kueue keeps it waiting for quota, or no node holds it.

    A warning, not an error: switching a model on while the quota is full is how a model joins the queue (it
    runs when another stops); the InferenceService stays not Ready until then.
    """
    problems = []
    for index, model in enumerate(portfolio.models):
        state = baseline.model(model.name)
        if model.state == "active" and state.state != "admitted":
            problems.append(Problem(("models", index, "state"), "PF005",
                                    f"active model will not run at baseline ({state.state}): {state.reason}; it waits "
                                    "until another model stops, or make it queued, or raise the quota"))
    return problems


def scenario_problems(runs: list[ScenarioRun]) -> list[Problem]:
    """SCN001 at each expectation the simulation contradicts."""
    problems = []
    for s_index, run in enumerate(runs):
        for t_index, step_run in enumerate(run.steps):
            for mismatch in step_run.mismatches:
                problems.append(Problem(
                    ("scenarios", s_index, "steps", t_index, "expect", mismatch.model), "SCN001",
                    f"scenario {run.scenario.name!r}, step {t_index + 1} ({step_run.step.title}): {mismatch.model} "
                    f"expected {mismatch.expected}, simulated {mismatch.simulated}; if the new story is intended, "
                    "`python -m generator scenarios --accept` records it", at_key=True))
    return problems

"""Admission checks on the rendered tree: the baseline is admitted, the scenarios hold."""

from __future__ import annotations

from typing import Any

from generator.admission.kueue import pod_requests, quantity
from generator.admission.objects import show_amount
from generator.admission.plan import Snapshot, kueue_objects
from generator.admission.pods import predictor_pod_spec
from generator.admission.scenarios import ScenarioRun
from generator.diagnostics import Problem
from generator.model.portfolio import Model, Portfolio
from generator.render.common import Tree

QUOTA_HINT = "it waits until another model stops, or make it queued, or raise the quota"


def _no_node_holds(portfolio: Portfolio, model: Model, service: dict[str, Any]) -> str | None:
    """Why no node of any flavor the model may use can ever hold its pod (the model container and what OpenShift AI's
    KServe adds beside it), or None when one can: then waiting, or more quota, lets it run."""
    asked = pod_requests(predictor_pod_spec(service))
    cpu, memory = asked.get("cpu", quantity("0")), asked.get("memory", quantity("0"))
    usable = [f for f in portfolio.flavors if f.gpus_per_node >= model.gpus and model.flavor in (None, f.name)]
    if not usable or any(cpu <= quantity(f.cpu_per_node) and memory <= quantity(f.memory_per_node) for f in usable):
        return None
    holds = "; ".join(f"{f.name} {f.cpu_per_node} CPUs and {f.memory_per_node}" for f in usable)
    return (f"no node can hold its pod, which asks {show_amount(cpu, 'cpu')} CPUs and {show_amount(memory, 'memory')} "
            f"(the model container and what OpenShift AI's KServe adds beside it: kube-rbac-proxy with auth, a ModelCar "
            f"for oci://) while a node holds {holds}: lower the model's resources")


def baseline_problems(portfolio: Portfolio, baseline: Snapshot, tree: Tree) -> list[Problem]:
    """PF005: an active model that will not run at baseline: Kueue keeps it waiting for quota, or no node holds it.

    A warning, not an error: switching a model on while the quota is full is how a model joins the queue (it
    runs when another stops); the InferenceService stays not Ready until then.
    """
    problems = []
    services: dict[str, dict[str, Any]] | None = None  # read from the tree only when a model does not run
    for index, model in enumerate(portfolio.models):
        state = baseline.model(model.name)
        if model.state == "active" and state.state != "admitted":
            services = kueue_objects(tree).services if services is None else services
            service = services.get(model.name)
            hint = (service is not None and _no_node_holds(portfolio, model, service)) or QUOTA_HINT
            problems.append(Problem(("models", index, "state"), "PF005",
                                    f"active model will not run at baseline ({state.state}): {state.reason}; {hint}"))
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

"""Every scenario of the demo fixture, of the 20-team example (tests/fixtures/portfolios/valid/teams) and of each
environment's cluster (valid/environments, `--env NAME`), replayed on the real controllers step by step as the
runbook enacts it (generator.sandbox.replay: the stop annotation, never scaling), beside the scenario and `plan`.

Per step and model, the box must show what `plan` (the simulator) says: admitted, pending, preempted, off or
unschedulable, on plan's flavor, on plan's node (up to a renaming of a flavor's identical nodes), holding on nodes
exactly the GPUs plan has its pods hold (a queued model none); and where the scenario names an expectation, the
box must meet it exactly where the simulator does. A failure names the scenario, the step, the model, what was
expected and what the box showed.
"""

from __future__ import annotations

import pytest

from box.boxes import ENVIRONMENTS, FIGURES, TEAMS, Boxes, Sandbox, Served, box_key
from conftest import DEMO
from generator.admission.scenarios import run_scenario
from generator.model.environments import environment_named, environment_portfolio
from generator.model.portfolio import Portfolio
from generator.pipeline import prepare
from generator.render import render
from generator.render.common import Tree
from generator.sandbox.replay import ScenarioReplay, replay_scenario, step_text

DEMO_PORTFOLIO = prepare(DEMO, display_name="portfolio.yaml")
TEAMS_PORTFOLIO = prepare(TEAMS, display_name="portfolio.yaml")
ENVIRONMENTS_PORTFOLIO = prepare(ENVIRONMENTS, display_name="portfolio.yaml")


def _environment(name: str) -> tuple[Portfolio, Tree]:
    env = environment_named(ENVIRONMENTS_PORTFOLIO.portfolio, name)
    assert env is not None, name
    portfolio = environment_portfolio(ENVIRONMENTS_PORTFOLIO.portfolio, env)
    return portfolio, render(portfolio)


def _versus_plan(replay: ScenarioReplay) -> list[str]:
    """Every place where the box's state or flavor is not the simulator's, and every node or GPU difference."""
    found = []
    for step in replay.steps:
        for row in step.rows:
            admitted = row.plan.state in ("admitted", "unschedulable")
            if row.state != row.plan.state or (admitted and row.live.flavor != row.plan.flavor):
                plan = f"{row.plan.state} on {row.plan.flavor}" if admitted else row.plan.state
                found.append(f"{replay.scenario}, step {step.number} ({step.title}): {row.name}: plan says {plan}, "
                             f"the box shows {row.observed}" + (f" ({row.live.message})" if row.live.message else ""))
        found += [f"{replay.scenario}, {d}" for d in step.differences if d.what in ("node", "GPUs bound")]
    return found


def _kserve_agrees(replay: ScenarioReplay) -> list[str]:
    """KServe's conditions say what Kueue did: a running model Ready and not Stopped; a waiting one neither Ready
    nor Stopped; a stopped one Stopped, Ready False with reason Stopped."""
    wanted = {"admitted": ("True", "False"), "pending": ("False", "False"), "preempted": ("False", "False"),
              "off": ("False (Stopped)", "True")}
    found = []
    for step in replay.steps:
        for row in step.rows:
            if row.state not in wanted:
                continue
            ready, stopped = wanted[row.state]
            if not row.live.ready.startswith(ready) or row.live.stopped != stopped:
                found.append(f"{replay.scenario}, step {step.number}: {row.name} is {row.state}, KServe says Ready "
                             f"{row.live.ready}, Stopped {row.live.stopped}")
    return found


def _check(replay: ScenarioReplay, portfolio: Portfolio, tree: Tree) -> None:
    """The box agrees with plan everywhere, and differs from the scenario exactly where the simulator does."""
    scenario = next(s for s in portfolio.scenarios if s.name == replay.scenario)
    simulated = run_scenario(portfolio, tree, scenario)
    told = "\n\n" + "\n".join(step_text(s) for s in replay.steps)
    assert all(step.settled for step in replay.steps), f"the box did not settle:{told}"
    assert _versus_plan(replay) == [], "\n".join(_versus_plan(replay)) + told
    assert _kserve_agrees(replay) == [], "\n".join(_kserve_agrees(replay)) + told
    expected_misses = {(number, m.model) for number, run in enumerate(simulated.steps, start=1) for m in run.mismatches}
    misses = {(d.step, d.model) for d in replay.differences if d.what in ("state", "flavor")}
    assert misses == expected_misses, ("the box and the simulator differ from the scenario in different places:\n"
                                       + "\n".join(str(d) for d in replay.differences) + told)
    seconds = sum(s.seconds for s in replay.steps)
    FIGURES.append(f"replay {replay.scenario}: {len(replay.steps) - 1} step(s) and the start in {seconds:.1f} s")


def _replayed(served: Served, name: str) -> ScenarioReplay:
    scenario = next(s for s in served.portfolio.scenarios if s.name == name)
    return replay_scenario(served.box, served.portfolio, served.tree, scenario, progress=lambda line: None)


def test_sandbox_replays_the_handover_as_the_scenario_says_and_measures_it(sandbox_demo: Sandbox) -> None:
    """`sandbox --scenario resource-handover` (the session's first box): exit 0, every step as the scenario and plan
    say, a queued model holding no GPU; stopping the running model frees its node's GPUs and the waiting model is
    admitted on them and Running some seconds later, which the command measures."""
    report = sandbox_demo.report
    assert sandbox_demo.exit_code == 0 and report["ok"], report["result"]["scenario"]["differences"]
    replay = report["result"]["scenario"]
    assert replay["scenario"] == "resource-handover" and replay["ok"] and replay["differences"] == []
    scenario = next(s for s in sandbox_demo.loaded.portfolio.scenarios if s.name == "resource-handover")
    assert [s["number"] for s in replay["steps"]] == list(range(len(scenario.steps) + 1))
    waiting = [m for step in scenario.steps for m in step.enable]
    stopped = [m for step in scenario.steps for m in step.disable]
    first, second = replay["steps"][1], replay["steps"][2]
    for model in first["models"]:
        if model["name"] in waiting:
            assert model["live"]["state"] == "pending" and model["live"]["gpus"] == 0, model
            assert model["live"]["phase"] == "Pending (gated)" and model["live"]["node"] is None, model
    held_before = first["gpus_bound"]
    for model in second["models"]:
        if model["name"] in stopped:
            assert (model["live"]["state"], model["live"]["gpus"]) == ("off", 0), model
    taken = [m for m in second["models"] if m["name"] in waiting]
    assert taken and all(m["live"]["state"] == "admitted" for m in taken), taken
    assert set(second["running_after"]) == set(waiting), second["running_after"]
    assert second["gpus_bound"] == held_before, "the waiting model should hold exactly the GPUs the stopped one freed"
    for model in waiting:
        FIGURES.append(f"handover: {model} Running {second['running_after'][model]:.1f} s after the stop of "
                       f"{', '.join(stopped)} (the step settled in {second['seconds']:.1f} s)")


@pytest.mark.parametrize("name", [s.name for s in DEMO_PORTFOLIO.portfolio.scenarios if s.name != "resource-handover"])
def test_every_demo_scenario_replays_on_the_real_controllers_as_plan_says(demo: Served, name: str) -> None:
    _check(_replayed(demo, name), demo.portfolio, demo.tree)


def test_the_environments_prod_cluster_is_the_demo_s_so_its_replays_are_the_demo_s() -> None:
    """The environments fixture's `prod` deploys exactly the demo fixture's documents on the demo's nodes, with the
    same scenarios: its replays are the demo's (above), not run twice."""
    portfolio, tree = _environment("prod")
    assert box_key(portfolio, tree) == box_key(DEMO_PORTFOLIO.portfolio, DEMO_PORTFOLIO.tree)
    assert [s.model_dump() for s in portfolio.scenarios] == [s.model_dump() for s in DEMO_PORTFOLIO.portfolio.scenarios]
    assert [m.model_dump() for m in portfolio.models] == [m.model_dump() for m in DEMO_PORTFOLIO.portfolio.models]


@pytest.fixture(scope="module")
def dev(boxes: Boxes, sandbox_demo: Sandbox) -> Served:
    """The environments fixture's `dev` cluster: the demo's box synced to dev's tree, with dev's nodes."""
    portfolio, tree = _environment("dev")
    return boxes.get(portfolio, tree, "environment dev")


@pytest.mark.parametrize("name", [s.name for s in ENVIRONMENTS_PORTFOLIO.portfolio.scenarios])
def test_every_scenario_replays_on_the_dev_cluster_as_plan_says(dev: Served, name: str) -> None:
    """dev has no 4-GPU node and no 4-GPU quota: its scenarios fail in the simulator (`scenarios --env dev`), and
    must fail on the box in exactly the same places, with the box showing what plan shows."""
    _check(_replayed(dev, name), dev.portfolio, dev.tree)


@pytest.fixture(scope="module")
def teams(boxes: Boxes) -> Served:
    """The 20-team example's box: a box of its own (its objects are not the demo's)."""
    return boxes.get(TEAMS_PORTFOLIO.portfolio, TEAMS_PORTFOLIO.tree, "teams")


@pytest.mark.parametrize("name", [s.name for s in TEAMS_PORTFOLIO.portfolio.scenarios])
def test_every_scenario_of_the_20_team_example_replays_as_plan_says(teams: Served, name: str) -> None:
    """Two organisations, fair sharing, preemption across cohorts: the real Kueue reclaims as the simulator does."""
    _check(_replayed(teams, name), teams.portfolio, teams.tree)


"""The demo's standard operating procedure as data: sections of prose, commands and expected output.

Everything a command names comes from the portfolio or the rendered tree; the expected outcomes of
scenario steps come from the simulator. `generator.runbook_formats` turns it into markdown, a shell
script or a Jupyter notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.plan import Snapshot
from generator.portfolio import Portfolio
from generator.scenarios import ScenarioRun, describe
from generator.tree import Tree


@dataclass(frozen=True)
class Command:
    line: str  # one shell command line
    expect: str = ""  # what the operator should see


@dataclass
class Block:
    text: str = ""
    commands: list[Command] = field(default_factory=list)
    runnable: bool = True  # False: shown for reference, left out of the shell script


@dataclass
class Section:
    key: str
    title: str
    intro: str
    blocks: list[Block] = field(default_factory=list)


def predictor(model: str) -> str:
    return f"{model}-predictor"


def _outcome_lines(snapshot: Snapshot, names: list[str]) -> str:
    lines = []
    for model in snapshot.models:
        if model.name in names or model.state != "off":
            text = describe(model.state, model.flavor)
            lines.append(f"{model.name}: {text}" + (f" ({model.reason})" if model.state != "admitted" and model.reason else ""))
    return "\n".join(lines)


def scenario_section(portfolio: Portfolio, run: ScenarioRun) -> Section:
    ns = portfolio.namespace
    section = Section(f"scenario {run.scenario.name}", f"Scenario: {run.scenario.name}", run.scenario.description)
    baseline_models = [m.name for m in portfolio.models if m.state == "active"]
    start = [Command(f"oc scale deployment {predictor(m.name)} -n {ns} --replicas={1 if m.state == 'active' else 0}")
             for m in portfolio.models]
    section.blocks.append(Block("Start from the baseline: the active models at one replica, the others at zero.",
                                [*start, Command(f"oc get workloads -n {ns}", _outcome_lines(run.baseline, baseline_models))]))
    for number, step_run in enumerate(run.steps, start=1):
        step = step_run.step
        commands = [Command(f"oc scale deployment {predictor(m)} -n {ns} --replicas=0") for m in step.disable]
        commands += [Command(f"oc scale deployment {predictor(m)} -n {ns} --replicas=1") for m in step.enable]
        commands += [Command(f"oc rollout restart deployment/{predictor(m)} -n {ns}") for m in step.update]
        named = [*step.enable, *step.disable, *step.update, *step.expect]
        commands.append(Command(f"oc get workloads -n {ns}", _outcome_lines(step_run.snapshot, named)))
        text = f"Step {number}: {step.title}."
        simulated_only = step.strategy is not None and step.update and any(
            step.strategy != "Recreate" for _ in step.update)
        if simulated_only:
            text += (f" Simulated only: the tree renders the Recreate strategy, so on the cluster this step cannot "
                     f"be reproduced; the simulator shows what {step.strategy} would do.")
        text += "".join(f" Note: {n}." for n in step_run.snapshot.notes)
        section.blocks.append(Block(text, commands, runnable=not simulated_only))
    return section


def scenario_sections(portfolio: Portfolio, tree: Tree, runs: list[ScenarioRun]) -> list[Section]:
    return [scenario_section(portfolio, run) for run in runs]

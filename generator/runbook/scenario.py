"""A scenario as operating steps: switch models on and off the way the tree says, then read Kueue's answer.

By default a model's state lives in Git: a step changes `state` in portfolio.yaml (`set-state`), rebuilds,
commits and pushes, and Argo CD syncs the change. With `gitops.liveToggle` the steps set the
InferenceService's stop annotation on the cluster instead, which Argo CD then ignores. Neither scales a
Deployment that KServe owns.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.admission.scenarios import ScenarioRun
from generator.render.inference import STOP_ANNOTATION
from generator.runbook.model import (
    Block,
    Command,
    Raw,
    RunbookFacts,
    Section,
    admission_lines,
    capture,
    sh,
    workloads_command,
)

START = "SCENARIO_START"


def sync_commands(facts: RunbookFacts, models: Sequence[str]) -> list[Command]:
    """Ask Argo CD to look at Git now and wait until the Applications serving `models` have synced the commit just
    pushed."""
    argo = facts.portfolio.gitops.argocd_namespace
    apps = list(dict.fromkeys(facts.application_of(m) for m in models))
    return [
        *(Command(sh("oc", "annotate", "application", app, "-n", argo, "argocd.argoproj.io/refresh=normal", "--overwrite"))
          for app in apps),
        *(Command(sh("oc", "wait", f"application/{app}", "-n", argo,
                     Raw("--for=jsonpath='{.status.sync.revision}'=\"$(git rev-parse HEAD)\""), "--timeout=10m"))
          for app in apps),
    ]


def gitops_change(facts: RunbookFacts, assignments: Sequence[str], message: str) -> list[Command]:
    """Change the models' state in portfolio.yaml, rebuild, commit, push, and wait for the sync."""
    return [
        Command(sh("python", "-m", "generator", "set-state", *assignments)),
        Command(sh("python", "-m", "generator", "build")),
        Command(sh("git", "add", "portfolio.yaml", "gitops")),
        Command(sh("git", "commit", "-m", message)),
        Command(sh("git", "push")),
        *sync_commands(facts, [a.partition("=")[0] for a in assignments]),
    ]


def live_switch(facts: RunbookFacts, states: dict[str, bool]) -> list[Command]:
    """Stop (True) or start (False) models through their InferenceService, as the dashboard's buttons do."""
    return [Command(sh("oc", "annotate", "inferenceservice", name, "-n", facts.namespace_of(name),
                       f"{STOP_ANNOTATION}={'true' if stop else 'false'}", "--overwrite")) for name, stop in states.items()]


def _touched(run: ScenarioRun) -> list[str]:
    """The models a scenario switches on or off, at its start or in a step: what its revert changes back."""
    start = list(run.scenario.start or [])
    return list(dict.fromkeys([*start, *(m for step in run.scenario.steps for m in (*step.enable, *step.disable))]))


def scenario_section(facts: RunbookFacts, run: ScenarioRun) -> Section:
    live = facts.portfolio.gitops.live_toggle
    name = run.scenario.name
    section = Section(f"scenario {name}", f"Scenario: {name}", run.scenario.description)
    running = list(run.scenario.start) if run.scenario.start is not None else [m.name for m in facts.active]
    check = Command(workloads_command(facts.scope, facts.gpu), admission_lines(run.baseline, running))
    at_start = {m.name: m.name not in running for m in facts.models}  # model -> stopped
    if live:
        start = Block("Start: the scenario's models started, the others stopped (Argo CD ignores the stop annotation, "
                      "gitops.liveToggle). Kueue makes one Workload per predictor pod; the expected admission is the "
                      "simulator's.", [*live_switch(facts, at_start), check])
    else:
        commands = [Command(capture(START, sh("git", "rev-parse", "HEAD")))]
        if any(stopped != (m.state != "active") for m, stopped in zip(facts.models, at_start.values(), strict=True)):
            commands += gitops_change(facts, [f"{m}={'queued' if stopped else 'active'}" for m, stopped in at_start.items()],
                                      f"scenario {name}: start")
        start = Block("Start from the scenario's models (Git holds the state); note the commit, to return to it at the "
                      "end. Each step changes the models' state in portfolio.yaml and lets Argo CD sync it. Kueue makes "
                      "one Workload per predictor pod; the expected admission is the simulator's.", [*commands, check])
    section.blocks.append(start)
    for number, step_run in enumerate(run.steps, start=1):
        step = step_run.step
        named = [*step.enable, *step.disable, *step.update, *step.expect]
        observe = Command(workloads_command(facts.scope, facts.gpu), admission_lines(step_run.snapshot, named))
        text = f"Step {number}: {step.title}."
        text += "".join(f" Note: {n}." for n in step_run.snapshot.notes)
        if step.update:
            simulated = step.strategy not in (None, "Recreate")
            if simulated:
                text += (" Simulated only: the tree renders the Recreate strategy, so the cluster does not do this; "
                         f"the simulator shows what {step.strategy} would do.")
            else:
                text += (f" Change {' and '.join(step.update)} in portfolio.yaml (any change of its predictor, such as "
                         "vllm.maxModelLen), rebuild, commit and push: KServe rolls the Deployment out with Recreate.")
            section.blocks.append(Block(text, [observe], "simulated" if simulated else "show"))
            continue
        if live:
            switch = live_switch(facts, {**{m: True for m in step.disable}, **{m: False for m in step.enable}})
        else:
            assignments = [f"{m}=queued" for m in step.disable] + [f"{m}=active" for m in step.enable]
            switch = gitops_change(facts, assignments, f"scenario {name}, step {number}: {step.title}")
        section.blocks.append(Block(text, [*switch, observe]))
    if live:
        end = live_switch(facts, {m.name: m.state != "active" for m in facts.models})
        section.blocks.append(Block("Return to the baseline.", end))
    else:
        section.blocks.append(Block(
            "Return to the baseline: revert the scenario's commits and let Argo CD sync.",
            [Command(sh("git", "revert", "--no-edit", Raw(f'"${START}"..HEAD'))), Command(sh("git", "push")),
             *sync_commands(facts, _touched(run))]))
    return section

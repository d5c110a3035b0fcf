"""The markdown summary of a change (`diff --format markdown`): models added, removed, switched on or off, the
GPU quota per flavor, storage tiers, the plan before and after (who runs, who waits and why), the scenarios
whose story changed, and then every resource change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from generator.admission.plan import Snapshot, plan
from generator.admission.scenarios import ScenarioRun, describe, run_all
from generator.model.derive import cohort_parent, fair_weight, storage_tier, team_cohort
from generator.model.portfolio import Portfolio
from generator.output.semantic_diff import ResourceChange, diff_text
from generator.render.common import Tree


@dataclass(frozen=True)
class Side:
    """One side of the change: the portfolio, its tree, its baseline plan and its scenario runs."""

    portfolio: Portfolio
    tree: Tree
    plan: Snapshot
    runs: list[ScenarioRun]

    @classmethod
    def of(cls, portfolio: Portfolio, tree: Tree) -> Side:
        return cls(portfolio, tree, plan(portfolio, tree), run_all(portfolio, tree))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") or " " for c in cells) + " |"
    return [row(header), "|" + "|".join("---" for _ in header) + "|", *(row(r) for r in rows)]


def _models(old: Side, new: Side) -> list[str]:
    before = {m.name: m for m in old.portfolio.models}
    after = {m.name: m for m in new.portfolio.models}
    rows: list[Sequence[str]] = []
    rows += [(name, "added", f"{m.gpus} GPUs, {m.state}") for name, m in after.items() if name not in before]
    rows += [(name, "removed", "") for name in before if name not in after]
    rows += [(name, "switched on" if m.state == "active" else "switched off", f"{before[name].state} -> {m.state}")
             for name, m in after.items() if name in before and before[name].state != m.state]
    return ["### Models", "", *(_table(("model", "change", ""), rows) if rows else ["No model added, removed or switched."]), ""]


def _quota(old: Side, new: Side, gpu: str) -> list[str]:
    def gpus(side: Side) -> dict[str, str]:
        return {q.flavor: f"{q.nominal:f}" for q in side.plan.quota if q.resource == gpu}

    before, after = gpus(old), gpus(new)
    rows = [(flavor, before.get(flavor, "-"), after.get(flavor, "-")) for flavor in dict.fromkeys([*before, *after])
            if before.get(flavor) != after.get(flavor)]
    return ["### GPU quota per flavor", "",
            *(_table(("flavor", "before", "after"), rows) if rows else ["No GPU quota changed."]), ""]


def _cohorts(old: Side, new: Side) -> list[str]:
    """The cohort tree, where either side has one: parents, each cohort's own GPUs and limits, weights, fair sharing."""
    if not (old.portfolio.cohorts or new.portfolio.cohorts or
            old.portfolio.kueue.fair_sharing != new.portfolio.kueue.fair_sharing):
        return []

    def describe_tree(side: Side) -> dict[str, str]:
        p = side.portfolio
        out = {}
        for c in p.cohorts:
            quota = ", ".join(f"{q.flavor} {q.gpus}" + (f" lend<={q.lending_limit}" if q.lending_limit is not None else "")
                              + (f" borrow<={q.borrowing_limit}" if q.borrowing_limit is not None else "") for q in c.quota)
            parent = cohort_parent(c, p)
            out[c.name] = "; ".join(x for x in (f"under {parent}" if parent else "root", quota or "no GPUs of its own",
                                                f"weight {fair_weight(c.weight)}" if c.weight is not None else "") if x)
        return out

    before, after = describe_tree(old), describe_tree(new)
    rows = [(name, before.get(name, "-"), after.get(name, "-")) for name in dict.fromkeys([*before, *after])
            if before.get(name) != after.get(name)]
    lines = ["### Cohorts", ""]
    if old.portfolio.kueue.fair_sharing != new.portfolio.kueue.fair_sharing:
        state = {True: "on", False: "off"}
        lines += [f"Fair sharing: {state[old.portfolio.kueue.fair_sharing]} -> {state[new.portfolio.kueue.fair_sharing]} "
                  "(a cluster setting: the Kueue configuration must match).", ""]
    moved = [(t.name, team_cohort(b, old.portfolio), team_cohort(t, new.portfolio)) for t in new.portfolio.teams
             for b in old.portfolio.teams if b.name == t.name and team_cohort(b, old.portfolio) != team_cohort(t, new.portfolio)]
    lines += _table(("cohort", "before", "after"), rows) if rows else ["No cohort changed."]
    if moved:
        lines += ["", *_table(("team", "cohort before", "cohort after"), moved)]
    return [*lines, ""]


def _storage(old: Side, new: Side) -> list[str]:
    before = {m.name: storage_tier(m, old.portfolio) for m in old.portfolio.models}
    rows = [(m.name, str(before[m.name]), str(storage_tier(m, new.portfolio))) for m in new.portfolio.models
            if m.name in before and before[m.name] != storage_tier(m, new.portfolio)]
    return ["### Storage tiers", "", *(_table(("model", "before", "after"), rows) if rows else ["No storage tier changed."]),
            ""]


def _plan(old: Side, new: Side) -> list[str]:
    before = {m.name: m for m in old.plan.models}
    rows = []
    for model in new.plan.models:
        was = before.get(model.name)
        then = describe(was.state, was.flavor) if was else "(new)"
        now = describe(model.state, model.flavor)
        rows.append((model.name, then, now, model.reason if model.state != "admitted" else ""))
    rows += [(name, describe(m.state, m.flavor), "(removed)", "") for name, m in before.items()
             if name not in {m.name for m in new.plan.models}]
    return ["### The plan at baseline (who runs, who waits and why)", "", *_table(("model", "before", "after", "why"), rows), ""]


def _scenarios(old: Side, new: Side) -> list[str]:
    def story(run: ScenarioRun) -> list[str]:
        return [f"{s.step.title}: " + ", ".join(f"{m.name} {describe(m.state, m.flavor)}" for m in s.snapshot.models
                                                 if m.name in s.step.expect) for s in run.steps]

    before = {r.scenario.name: r for r in old.runs}
    lines = []
    for run in new.runs:
        was = before.get(run.scenario.name)
        if was is not None and story(was) == story(run) and was.passed == run.passed:
            continue
        verdict = "passes" if run.passed else "FAILS (run `python -m generator scenarios --accept` if the new story is right)"
        lines.append(f"- **{run.scenario.name}** {'(new) ' if was is None else ''}{verdict}")
        lines += [f"  - {step}" for step in story(run)]
    lines += [f"- **{name}** removed" for name in before if name not in {r.scenario.name for r in new.runs}]
    return ["### Scenarios whose story changed", "", *(lines or ["None."]), ""]


def markdown_summary(old: Side | None, new: Side, changes: list[ResourceChange], *, base: str,
                     base_problem: str | None = None) -> str:
    out = [f"## What this change does to the cluster (against {base})", ""]
    if old is None:
        out += [f"The base portfolio could not be read ({base_problem}); only the resources are compared.", ""]
    else:
        gpu = new.portfolio.cluster.gpu_resource
        out += (_models(old, new) + _quota(old, new, gpu) + _cohorts(old, new) + _storage(old, new) + _plan(old, new)
                + _scenarios(old, new))
    out += ["### Resources", "", "```diff", diff_text(changes).rstrip(), "```", ""]
    return "\n".join(out)

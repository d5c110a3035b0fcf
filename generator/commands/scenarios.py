"""`scenarios`: the portfolio's stories, simulated; `--accept` records what the simulation now says."""

from __future__ import annotations

import argparse

from generator.admission.checks import scenario_problems
from generator.admission.present import scenarios_data, scenarios_text
from generator.admission.scenarios import ScenarioRun, describe, run_all
from generator.commands.common import environment, load
from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.errors import UsageError
from generator.model.edit import NewExpectation


def expectation_updates(runs: list[ScenarioRun], name: str) -> tuple[list[NewExpectation], list[str]]:
    """The simulated outcome of each failed expectation, and one line per change naming the file `name`."""
    updates, lines = [], []
    for s_index, run in enumerate(runs):
        for t_index, step in enumerate(run.steps):
            for mismatch in step.mismatches:
                got = step.snapshot.model(mismatch.model)
                flavor = got.flavor if got.state in ("admitted", "unschedulable") else None
                updates.append(NewExpectation(s_index, t_index, mismatch.model, got.state, flavor))
                lines.append(f"{name}: scenario {run.scenario.name}, step {t_index + 1}: {mismatch.model}: "
                             f"{mismatch.expected} -> {describe(got.state, flavor)}")
    return updates, lines


def accept(args: argparse.Namespace) -> list[str]:
    """Rewrite the failed expectations to the simulated outcome, in place; the changes, one line each."""
    from generator.commands.editing import PortfolioFile
    from generator.model.edit import set_expectations

    file = PortfolioFile.read(args)
    loaded = load(args)
    updates, lines = expectation_updates(run_all(loaded.portfolio, loaded.tree, selector_rule=args.selector_rule),
                                         file.name)
    if not updates:
        return [f"{file.name}: every expectation holds; nothing to accept"]
    new_text = set_expectations(file.text, updates, file.name)
    file.check(new_text, args)
    file.write(new_text)
    return lines


def run(args: argparse.Namespace) -> Outcome:
    if args.accept and args.env:
        raise UsageError("--accept records the base's stories; run it without --env")
    accepted = accept(args) if args.accept else []
    loaded = load(args)
    runs = run_all(*environment(loaded, args.env), selector_rule=args.selector_rule)
    passed = sum(r.passed for r in runs)
    text = "".join(line + "\n" for line in accepted) + scenarios_text(runs)
    failed = [loaded.source.locate(p) for p in scenario_problems(runs)] if args.env is None else []
    return Outcome("scenarios", EXIT_OK if passed == len(runs) else EXIT_PROBLEMS, text=text,
                   diagnostics=loaded.warnings + failed, summary={"scenarios": len(runs), "passed": passed},
                   result={"scenarios": scenarios_data(runs), "accepted": accepted})

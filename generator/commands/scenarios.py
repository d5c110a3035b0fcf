"""`scenarios`: the portfolio's stories, simulated; `--accept` records what the simulation now says."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.admission.present import scenarios_data, scenarios_text
from generator.admission.scenarios import ScenarioRun, describe, run_all
from generator.commands.common import display, environment, load, portfolio_path
from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.errors import UsageError
from generator.model.loader import read_portfolio_text
from generator.output.files import write_file


def accept(runs: list[ScenarioRun], path: Path) -> list[str]:
    """Rewrite the failed expectations to the simulated outcome, in place; the changes, one line each."""
    from generator.model.edit import NewExpectation, set_expectations

    updates, lines = [], []
    for s_index, run in enumerate(runs):
        for t_index, step in enumerate(run.steps):
            for mismatch in step.mismatches:
                got = step.snapshot.model(mismatch.model)
                flavor = got.flavor if got.state in ("admitted", "unschedulable") else None
                updates.append(NewExpectation(s_index, t_index, mismatch.model, got.state, flavor))
                lines.append(f"{display(path)}: scenario {run.scenario.name}, step {t_index + 1}: {mismatch.model}: "
                             f"{mismatch.expected} -> {describe(got.state, flavor)}")
    if updates:
        write_file(path, set_expectations(read_portfolio_text(path).decode("utf-8"), updates))
    else:
        lines.append(f"{display(path)}: every expectation holds; nothing to accept")
    return lines


def run(args: argparse.Namespace) -> Outcome:
    if args.accept and args.env:
        raise UsageError("--accept records the base's stories; run it without --env")
    loaded = load(args)
    runs = run_all(*environment(loaded, args.env), selector_rule=args.selector_rule)
    accepted: list[str] = []
    if args.accept:
        accepted = accept(runs, portfolio_path(args))
        loaded = load(args)
        runs = run_all(loaded.portfolio, loaded.tree, selector_rule=args.selector_rule)
    passed = sum(r.passed for r in runs)
    text = "".join(line + "\n" for line in accepted) + scenarios_text(runs)
    return Outcome("scenarios", EXIT_OK if passed == len(runs) else EXIT_PROBLEMS, text=text, diagnostics=loaded.warnings,
                   summary={"scenarios": len(runs), "passed": passed},
                   result={"scenarios": scenarios_data(runs), "accepted": accepted})

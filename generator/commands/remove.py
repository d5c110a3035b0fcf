"""`remove model NAME`: drop a model from portfolio.yaml with every scenario and environment reference to it.

The scenarios then tell a story without the model: an expectation the simulation no longer confirms is recorded as
it now runs (as `scenarios --accept` would), each change printed for the reviewer.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from generator.admission.scenarios import run_all
from generator.commands.editing import PortfolioFile
from generator.commands.scenarios import expectation_updates
from generator.console import EXIT_OK, Outcome
from generator.model.edit import remove_model, set_expectations
from generator.pipeline import prepare


def run(args: argparse.Namespace) -> Outcome:
    file = PortfolioFile.read(args)
    file.load()  # the same diagnostics as build for a file that does not load
    new_text, notes = remove_model(file.text, args.name, file.name)
    with tempfile.TemporaryDirectory() as scratch:  # the stories without the model, as the simulation now tells them
        candidate = Path(scratch) / "portfolio.yaml"
        candidate.write_text(new_text, encoding="utf-8")
        prepared = prepare(candidate, display_name=file.name)
    updates, accepted = expectation_updates(run_all(prepared.portfolio, prepared.tree), file.name)
    if updates:
        new_text = set_expectations(new_text, updates, file.name)
    warnings = file.check(new_text, args)
    file.write(new_text)
    lines = [f"{file.name}: removed model {args.name}"] + [f"note: {n}" for n in notes]
    lines += [f"note: without {args.name} the story changed: {line.removeprefix(file.name + ': ')}" for line in accepted]
    return Outcome("remove", EXIT_OK, text="\n".join(lines) + "\n", diagnostics=warnings)

"""`set-state`: switch models on or off in portfolio.yaml, keeping everything else byte for byte."""

from __future__ import annotations

import argparse

from generator.commands.editing import PortfolioFile
from generator.console import EXIT_OK, Outcome
from generator.errors import UsageError
from generator.model.edit import replace_scalars, set_model_states


def run(args: argparse.Namespace) -> Outcome:
    states: dict[str, str] = {}
    for assignment in args.assignments:
        name, _, state = assignment.partition("=")
        if state not in ("active", "queued"):
            raise UsageError(f"{assignment!r}: write MODEL=active or MODEL=queued")
        states[name] = state
    file = PortfolioFile.read(args)
    plain, source, _ = file.load()
    edits, changes = set_model_states(plain, source, states)
    new_text = replace_scalars(file.text, edits, file.name)
    warnings = file.check(new_text, args)  # the edited portfolio must pass every check before it replaces the old
    if changes:
        file.write(new_text)
    lines = [f"{file.name}: {c.model}: state {c.old} -> {c.new}" for c in changes] or [f"{file.name}: nothing to change"]
    return Outcome("set-state", EXIT_OK, text="\n".join(lines) + "\n", diagnostics=warnings)

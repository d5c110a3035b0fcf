"""`set-state`: switch models on or off in portfolio.yaml, keeping everything else byte for byte."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from generator.commands.common import display, portfolio_path
from generator.console import EXIT_OK, Outcome
from generator.errors import UsageError
from generator.model.edit import set_model_states
from generator.model.loader import read_portfolio_text
from generator.output.files import failure, write_file
from generator.pipeline import prepare


def run(args: argparse.Namespace) -> Outcome:
    states: dict[str, str] = {}
    for assignment in args.assignments:
        name, _, state = assignment.partition("=")
        if state not in ("active", "queued"):
            raise UsageError(f"{assignment!r}: write MODEL=active or MODEL=queued")
        states[name] = state
    path = portfolio_path(args)
    new_text, changes = set_model_states(read_portfolio_text(path).decode("utf-8"), states)
    try:
        with tempfile.TemporaryDirectory() as scratch:  # the edited portfolio must pass every check before it replaces the old
            candidate = Path(scratch) / path.name
            candidate.write_text(new_text, encoding="utf-8")
            prepared = prepare(candidate, display_name=display(path))
    except OSError as error:  # a full disk while writing the candidate
        raise failure(path, error, unchanged=f"{display(path)} is as it was") from error
    if changes:
        write_file(path, new_text)  # through a symlink to the portfolio it names; the link stays
    lines = [f"{display(path)}: {c.model}: state {c.old} -> {c.new}" for c in changes] or [f"{display(path)}: nothing to change"]
    return Outcome("set-state", EXIT_OK, text="\n".join(lines) + "\n", diagnostics=prepared.warnings)

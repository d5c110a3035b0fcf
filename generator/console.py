"""What a command says, and where: one rule for every command.

A command returns an Outcome. In text format the diagnostics (errors and warnings) go to standard error,
the command's own output to standard output, and a closing verdict to standard error. In `github` format
the diagnostics are workflow annotations on standard output (where GitHub reads them). In `json` format
everything is one document on standard output:
{"command", "ok", "exit_code", "diagnostics": [...], "summary": {"errors", "warnings", ...}, "result": ...}.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from generator.diagnostics import Diagnostic, render_github, render_text

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@dataclass
class Outcome:
    command: str
    code: int = EXIT_OK
    text: str = ""  # standard output in text and github formats
    note: str = ""  # the verdict, on standard error in text and github formats
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    result: Any = None


def out(text: str) -> None:
    """Write to standard output; a reader that went away (`| head`) ends the output quietly, not the command."""
    if not text:
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # and no second error when Python flushes at exit
        os.close(devnull)


def err(text: str) -> None:
    if text:
        sys.stderr.write(text)
        sys.stderr.flush()


def document(outcome: Outcome) -> dict[str, Any]:
    """The JSON shape every command shares."""
    diagnostics = sorted(outcome.diagnostics)
    return {
        "command": outcome.command,
        "ok": outcome.code == EXIT_OK,
        "exit_code": outcome.code,
        "diagnostics": [asdict(d) for d in diagnostics],
        "summary": {"errors": sum(d.severity == "error" for d in diagnostics),
                    "warnings": sum(d.severity == "warning" for d in diagnostics), **outcome.summary},
        "result": outcome.result,
    }


def emit(outcome: Outcome, fmt: str) -> int:
    if fmt == "json":
        out(json.dumps(document(outcome), indent=2, sort_keys=True, default=str) + "\n")
        return outcome.code
    if fmt == "github":
        out(render_github(sorted(outcome.diagnostics)))
    else:
        err(render_text(sorted(outcome.diagnostics)))
    out(outcome.text)
    err(outcome.note + "\n" if outcome.note else "")
    return outcome.code

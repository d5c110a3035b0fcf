"""`runbook`: the operating procedure as markdown, a shell script or a notebook."""

from __future__ import annotations

import argparse

from generator.admission.scenarios import run_all
from generator.commands.common import load
from generator.console import EXIT_OK, Outcome
from generator.errors import UsageError
from generator.output.files import write_file
from generator.runbook import SECTIONS, build_runbook
from generator.runbook.formats import to_markdown, to_notebook, to_shell


def run(args: argparse.Namespace) -> Outcome:
    loaded = load(args)
    scenarios = [s.name for s in loaded.portfolio.scenarios]
    section, scenario = args.section, args.name
    if section is not None and section not in SECTIONS:
        if section not in scenarios or scenario is not None:
            raise UsageError(f"unknown section or scenario {section!r}; sections: {', '.join(SECTIONS)}; "
                             f"scenarios: {', '.join(scenarios) or 'none declared'}")
        section, scenario = "scenario", section
    if scenario is not None and (section != "scenario" or scenario not in scenarios):
        raise UsageError(f"unknown scenario {scenario!r}; scenarios: {', '.join(scenarios) or 'none declared'}")
    sections = build_runbook(loaded.portfolio, loaded.tree, run_all(loaded.portfolio, loaded.tree), only=section,
                             scenario=scenario)
    title = f"Runbook: {loaded.portfolio.gitops.application}"
    if args.format == "notebook":
        text = to_notebook(title, sections)
    elif args.format == "sh":
        text = to_shell(title, sections, default=["prerequisites", "deploy", "verify"])
    else:
        text = to_markdown(title, sections)
    if args.output:
        write_file(args.output, text)  # a symlink written through, a FIFO or device written into, never replaced
        text = f"wrote {args.output}\n"
    return Outcome("runbook", EXIT_OK, text=text, diagnostics=loaded.warnings)

"""`build` writes the tree; `build --check` (or `check`) compares it with what is on disk."""

from __future__ import annotations

import argparse
import time

from generator.commands.common import load, portfolio_name, report_counts, validate
from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.diagnostics import has_errors
from generator.output.tree import diff_tree, write_tree


def drift_annotations(diff: str) -> str:
    """One GitHub annotation per stale file of a unified diff, at its first changed line."""
    lines, file = [], None
    for line in diff.splitlines():
        if line.startswith("--- a/"):
            file = line[6:]
        elif line.startswith("+++ b/"):
            file = line[6:]
        elif line.startswith("@@") and file is not None:
            start = line.split()[2].lstrip("+").split(",")[0]
            lines.append(f"::error file={file},line={max(int(start), 1)}::gitops/ differs from what portfolio.yaml renders "
                         "here (a hand edit, or a portfolio change without a rebuild); run `python -m generator build` "
                         "and commit the tree")
            file = None
    return "".join(line + "\n" for line in lines)


def run(args: argparse.Namespace) -> Outcome:
    started = time.perf_counter()
    checking = args.command == "check" or args.check
    command = "check" if checking else "build"
    loaded = load(args)
    report = validate(loaded, args)
    counts = report_counts(report)
    if has_errors(report.diagnostics):
        return Outcome(command, EXIT_PROBLEMS, diagnostics=report.diagnostics, summary=counts,
                       note="nothing was written" if not checking else "")
    if checking:
        diff = diff_tree(loaded.tree, args.root)
        changed = [line[6:] for line in diff.splitlines() if line.startswith("+++ b/") or line.startswith("--- a/")]
        result = {"up_to_date": not diff, "files": len(loaded.tree), "changed": sorted(set(changed)), "diff": diff}
        if diff:
            text = drift_annotations(diff) + diff if args.format == "github" else diff
            return Outcome(command, EXIT_PROBLEMS, text=text, diagnostics=report.diagnostics, summary=counts,
                           result=result, note="gitops/ differs from what portfolio.yaml renders; "
                                               "run `python -m generator build`")
        return Outcome(command, EXIT_OK, diagnostics=report.diagnostics, summary=counts, result=result,
                       text=f"gitops/ is up to date: {len(loaded.tree)} files match {portfolio_name(args)}\n")
    written = write_tree(loaded.tree, args.root)
    elapsed = time.perf_counter() - started
    lines = [f"{len(loaded.tree)} files rendered: {len(written.written)} written, {len(written.unchanged)} unchanged, "
             f"{len(written.removed)} removed; {report.summary()}; {elapsed:.2f}s"]
    if written.finished_interrupted:
        lines.append("  finished the switch an interrupted build had begun")
    lines += [f"  wrote   {path}" for path in written.written] + [f"  removed {path}" for path in written.removed]
    result = {"files": len(loaded.tree), "written": written.written, "unchanged": len(written.unchanged),
              "removed": written.removed, "finished_interrupted": written.finished_interrupted}
    return Outcome(command, EXIT_OK, text="\n".join(lines) + "\n", diagnostics=report.diagnostics, summary=counts,
                   result=result)

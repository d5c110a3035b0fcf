"""`validate`: the portfolio's rules and lints, every rendered document, the CRDs' rules, the scenarios."""

from __future__ import annotations

import argparse

from generator.commands.common import load, report_counts, validate
from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.diagnostics import has_errors


def run(args: argparse.Namespace) -> Outcome:
    report = validate(load(args), args)
    errors = sum(d.severity == "error" for d in report.diagnostics)
    verdict = f"{errors} error(s)" if errors else "valid"
    crds = "" if args.crd_dir else " (no --crd-dir: custom resources not checked against CRDs)"
    return Outcome("validate", EXIT_PROBLEMS if has_errors(report.diagnostics) else EXIT_OK,
                   text=f"{verdict}: {report.summary()}{crds}\n", diagnostics=report.diagnostics,
                   summary=report_counts(report), result={"valid": not errors})

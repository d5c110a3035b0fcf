"""What several commands share: finding and loading the portfolio, and checking the rendered tree."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from generator.diagnostics import Diagnostic
from generator.errors import UsageError
from generator.pipeline import Prepared, prepare

if TYPE_CHECKING:
    from generator.checks.validate import ValidationReport
    from generator.model.portfolio import Portfolio
    from generator.render.common import Tree


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


STDIN_NAME = "<stdin>"


def reads_stdin(args: argparse.Namespace) -> bool:
    """`--portfolio -`: the portfolio comes on standard input (the commands that only read it)."""
    return args.portfolio is not None and str(args.portfolio) == "-"


def portfolio_path(args: argparse.Namespace) -> Path:
    return Path(args.portfolio or args.root / "portfolio.yaml")


def portfolio_name(args: argparse.Namespace) -> str:
    return STDIN_NAME if reads_stdin(args) else display(portfolio_path(args))


def load(args: argparse.Namespace) -> Prepared:
    if reads_stdin(args):
        from generator.errors import DiagnosticsError
        from generator.model.loader import MAX_FILE_BYTES

        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise DiagnosticsError([Diagnostic(STDIN_NAME, 1, 1, "YAML005", "", f"input is larger than {MAX_FILE_BYTES} bytes")])
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "portfolio.yaml"
            path.write_bytes(data)
            return prepare(path, display_name=STDIN_NAME)
    path = portfolio_path(args)
    return prepare(path, display_name=display(path))


def environment(loaded: Prepared, name: str | None) -> tuple[Portfolio, Tree]:
    """The portfolio and tree as the environment `name` deploys them (its overlay applied); the base without a name."""
    if name is None:
        return loaded.portfolio, loaded.tree
    from generator.model.environments import environment_named, environment_portfolio
    from generator.render import render

    env = environment_named(loaded.portfolio, name)
    if env is None:
        known = [e.name for e in loaded.portfolio.environments]
        raise UsageError(f"unknown environment {name!r}; " + (f"environments: {', '.join(known)}" if known
                                                               else "the portfolio declares no environments"))
    portfolio = environment_portfolio(loaded.portfolio, env)
    return portfolio, render(portfolio)


def check_models(names: list[str], loaded: Prepared) -> None:
    known = [m.name for m in loaded.portfolio.models]
    for name in names:
        if name not in known:
            raise UsageError(f"unknown model {name!r}; models: {', '.join(known)}")


def validate(loaded: Prepared, args: argparse.Namespace) -> ValidationReport:
    """Every check of the rendered tree, the environments' trees and the scenarios, each at its rule's severity."""
    from generator.admission.checks import scenario_problems
    from generator.admission.scenarios import run_all
    from generator.checks.validate import validate_tree

    catalog = None
    if args.crd_dir:
        from generator.checks.crds import CrdCatalog

        catalog = CrdCatalog.from_dirs(args.crd_dir)
    report = validate_tree(loaded.tree, catalog=catalog, allow_missing=args.allow_missing_schemas,
                           portfolio=loaded.portfolio, source=loaded.source)
    seen = set(report.diagnostics)
    for env in loaded.portfolio.environments:  # what each cluster receives: the base with its overlay applied
        _, env_tree = environment(loaded, env.name)
        env_report = validate_tree(env_tree, catalog=catalog, allow_missing=args.allow_missing_schemas,
                                   portfolio=loaded.portfolio, source=loaded.source)
        report.diagnostics += [replace(d, message=f"in environment {env.name} (its overlay applied): {d.message}")
                               for d in env_report.diagnostics if d not in seen]
        report.core_checked += env_report.core_checked
        report.custom_checked += env_report.custom_checked
        report.rules_checked += env_report.rules_checked
        report.rules_for_updates += env_report.rules_for_updates
        report.rules_unevaluated += env_report.rules_unevaluated
    runs = run_all(loaded.portfolio, loaded.tree)
    report.diagnostics = sorted(report.diagnostics + loaded.warnings
                                + [loaded.source.locate(p) for p in scenario_problems(runs)])
    return report


def report_counts(report: ValidationReport) -> dict[str, object]:
    return {"core_checked": report.core_checked, "custom_checked": report.custom_checked, "skipped": report.skipped,
            "rules_checked": report.rules_checked, "rules_for_updates": report.rules_for_updates,
            "rules_unevaluated": report.rules_unevaluated}

"""What several commands share: finding and loading the portfolio, and checking the rendered tree."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from generator.diagnostics import Severity
from generator.errors import UsageError
from generator.pipeline import Prepared, prepare

if TYPE_CHECKING:
    from generator.checks.validate import ValidationReport


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def portfolio_path(args: argparse.Namespace) -> Path:
    return Path(args.portfolio or args.root / "portfolio.yaml")


def load(args: argparse.Namespace) -> Prepared:
    path = portfolio_path(args)
    return prepare(path, display_name=display(path))


def check_models(names: list[str], loaded: Prepared) -> None:
    known = [m.name for m in loaded.portfolio.models]
    for name in names:
        if name not in known:
            raise UsageError(f"unknown model {name!r}; models: {', '.join(known)}")


def validate(loaded: Prepared, args: argparse.Namespace, *, stories: Severity = "error") -> ValidationReport:
    """Every check of the rendered tree; a failed scenario is `stories` (a build still writes a correct tree whose
    demo stories changed: `scenarios --accept` records the new story, and validate, run in CI, says it is due)."""
    from generator.admission.checks import scenario_problems
    from generator.admission.scenarios import run_all
    from generator.checks.validate import validate_tree

    catalog = None
    if args.crd_dir:
        from generator.checks.crds import CrdCatalog

        catalog = CrdCatalog.from_dirs(args.crd_dir)
    report = validate_tree(loaded.tree, catalog=catalog, allow_missing=args.allow_missing_schemas,
                           portfolio=loaded.portfolio, source=loaded.source)
    runs = run_all(loaded.portfolio, loaded.tree)
    report.diagnostics = sorted(report.diagnostics + loaded.warnings
                                + [replace(loaded.source.locate(p), severity=stories) for p in scenario_problems(runs)])
    return report


def report_counts(report: ValidationReport) -> dict[str, object]:
    return {"core_checked": report.core_checked, "custom_checked": report.custom_checked, "skipped": report.skipped,
            "rules_checked": report.rules_checked, "rules_for_updates": report.rules_for_updates,
            "rules_unevaluated": report.rules_unevaluated}

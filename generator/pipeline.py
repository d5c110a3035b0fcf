"""The stages in order, for the commands that need them: load, check the portfolio, render, admit.

Each stage takes the previous stage's result; this module only calls them in order and stops at
the first stage that finds an error, so a later stage never sees input an earlier one refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.admission.checks import baseline_problems
from generator.admission.plan import plan
from generator.checks.lint import lint_portfolio
from generator.checks.rules import check_portfolio
from generator.diagnostics import Diagnostic, Problem, has_errors
from generator.errors import DiagnosticsError
from generator.model.loader import SourceMap, load_portfolio
from generator.model.portfolio import Portfolio
from generator.render import render
from generator.render.common import Tree


@dataclass(frozen=True)
class Prepared:
    """A portfolio that passed its checks, its rendered tree, and the warnings found on the way."""

    portfolio: Portfolio
    source: SourceMap
    tree: Tree
    warnings: list[Diagnostic] = field(default_factory=list)


def _stop_on_errors(source: SourceMap, problems: list[Problem]) -> list[Diagnostic]:
    diagnostics = sorted(source.locate(p) for p in problems)
    if has_errors(diagnostics):
        raise DiagnosticsError(diagnostics)
    return diagnostics


def prepare(path: Path, *, display_name: str | None = None) -> Prepared:
    loaded = load_portfolio(path, display_name=display_name)
    portfolio, source = loaded.portfolio, loaded.source
    warnings = _stop_on_errors(source, check_portfolio(portfolio) + lint_portfolio(portfolio))
    tree = render(portfolio)
    warnings += _stop_on_errors(source, baseline_problems(portfolio, plan(portfolio, tree)))
    return Prepared(portfolio, source, tree, sorted(warnings))

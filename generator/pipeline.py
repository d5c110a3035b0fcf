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
from generator.checks.secrets import secret_problems
from generator.diagnostics import Diagnostic, Problem, format_path, has_errors
from generator.errors import DiagnosticsError
from generator.model.environments import environment_portfolio
from generator.model.loader import SourceMap, load_portfolio
from generator.model.portfolio import Portfolio
from generator.render import render, render_serving
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


def in_environment(portfolio: Portfolio, index: int, problems: list[Problem], known: list[Problem]) -> list[Problem]:
    """An environment's own findings, placed at its entry: those its nodes, quota or running models cause."""
    found = []
    for p in problems:
        if p in known:
            continue
        where = format_path(p.path)
        if p.path[:1] == ("models",) and len(p.path) > 1 and isinstance(p.path[1], int):
            where += f" ({portfolio.models[p.path[1]].name})"
        found.append(Problem(("environments", index), p.rule,
                             f"in environment {portfolio.environments[index].name}: {where}: {p.message}",
                             at_key=True))
    return found


def environment_problems(portfolio: Portfolio, base_problems: list[Problem]) -> list[Problem]:
    found = []
    for index, env in enumerate(portfolio.environments):
        env_portfolio = environment_portfolio(portfolio, env)
        problems = check_portfolio(env_portfolio)
        if not any(p.severity == "error" for p in problems):
            serving = render_serving(env_portfolio)
            problems += baseline_problems(env_portfolio, plan(env_portfolio, serving), serving)
        found += in_environment(portfolio, index, problems, base_problems)
    return found


def prepare(path: Path, *, display_name: str | None = None) -> Prepared:
    loaded = load_portfolio(path, display_name=display_name)
    portfolio, source = loaded.portfolio, loaded.source
    problems = check_portfolio(portfolio) + lint_portfolio(portfolio)
    warnings = _stop_on_errors(source, problems)
    tree = render(portfolio)
    warnings += _stop_on_errors(source, secret_problems(portfolio, tree))
    baseline = baseline_problems(portfolio, plan(portfolio, tree), tree)
    warnings += _stop_on_errors(source, baseline + environment_problems(portfolio, problems + baseline))
    return Prepared(portfolio, source, tree, sorted(warnings))

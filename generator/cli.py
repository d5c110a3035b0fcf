"""Command line: parse arguments, call the stages, print, choose the exit code. Nothing else prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from generator.admission.checks import scenario_problems
from generator.admission.plan import plan
from generator.admission.present import plan_json, plan_text, scenarios_json, scenarios_text
from generator.admission.scenarios import ScenarioRun, describe, run_all
from generator.checks.validate import ValidationReport, validate_tree
from generator.diagnostics import Diagnostic, Severity, has_errors, render_github, render_json, render_text
from generator.errors import DiagnosticsError, GeneratorError, UsageError
from generator.model.loader import read_portfolio_text
from generator.output.tree import atomic_write, diff_tree, write_tree
from generator.pipeline import Prepared, prepare
from generator.render.common import Tree
from generator.review.summary import Side, markdown_summary

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
SCHEMA_PATH = Path("schemas/portfolio.schema.json")


def _out(text: str) -> None:
    """Write to standard output; a reader that went away (`| head`) ends the output quietly, not the command."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # and no second error when Python flushes at exit
        os.close(devnull)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _common(parser: argparse.ArgumentParser, *, crds: bool = True,
            formats: tuple[str, ...] = ("text", "json", "github")) -> None:
    parser.add_argument("--portfolio", type=Path, default=None, help="portfolio file (default: ROOT/portfolio.yaml)")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root that holds gitops/ (default: .)")
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format")
    if crds:
        parser.add_argument("--crd-dir", type=Path, action="append", default=[],
                            help="validate custom resources against the CRDs in this folder (repeatable)")
        parser.add_argument("--allow-missing-schemas", action="store_true",
                            help="skip custom resources with no CRD instead of failing")


def _selector_rule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--selector-rule", choices=("current", "union"), default="current",
                        help="nodeSelector against flavor labels: Kueue's current rule, or the union-of-keys rule of "
                             "Kueue before v0.17.8 / v0.18.3 / v0.19.0")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m generator", description="GitOps generator for GPU-as-a-Service model portfolios.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    build = sub.add_parser("build", help="render, validate and write the gitops/ tree")
    _common(build)
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when gitops/ is stale")

    check = sub.add_parser("check", help="same as build --check")
    _common(check)

    validate = sub.add_parser("validate", help="portfolio rules, lint, and every rendered document against its schema")
    _common(validate)

    planning = sub.add_parser("plan", help="simulate Kueue admission of the models")
    _common(planning, crds=False, formats=("text", "json"))
    planning.add_argument("--enable", action="append", default=[], metavar="MODEL", help="scale MODEL to one replica")
    planning.add_argument("--disable", action="append", default=[], metavar="MODEL", help="scale MODEL to zero")
    _selector_rule(planning)

    scenarios = sub.add_parser("scenarios", help="run the scenarios declared in the portfolio")
    _common(scenarios, crds=False, formats=("text", "json"))
    _selector_rule(scenarios)
    scenarios.add_argument("--accept", action="store_true",
                           help="rewrite each failed expectation to what the simulation now says, in portfolio.yaml, "
                                "keeping its comments and layout")

    runbook = sub.add_parser("runbook", help="the demo's operating procedure, generated from the portfolio")
    _common(runbook, crds=False, formats=("markdown", "sh", "notebook"))
    runbook.add_argument("section", nargs="?",
                         help="prerequisites, deploy, verify, scenario [NAME], smoke-test, troubleshoot, cleanup, "
                              "or a scenario name (default: every section)")
    runbook.add_argument("name", nargs="?", help="with `scenario`: one scenario (default: all)")
    runbook.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")

    diff = sub.add_parser("diff", help="semantic diff by resource and field against a directory or git revision")
    _common(diff, crds=False, formats=("text", "json", "markdown"))
    diff.add_argument("--against", default="HEAD",
                      help="a directory holding gitops/, or a git revision of the root (default: HEAD)")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when there are differences")

    set_state = sub.add_parser("set-state", help="switch models on or off in portfolio.yaml, keeping its comments and layout")
    set_state.add_argument("assignments", nargs="+", metavar="MODEL=STATE", help="STATE is active or queued")
    set_state.add_argument("--portfolio", type=Path, default=None, help="portfolio file (default: ROOT/portfolio.yaml)")
    set_state.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")

    schema = sub.add_parser("schema", help="write schemas/portfolio.schema.json from the typed model")
    schema.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    schema.add_argument("--check", action="store_true", help="write nothing; exit 1 when the committed schema is stale")
    return parser


def _emit_diagnostics(diagnostics: list[Diagnostic], fmt: str, *, report: ValidationReport | None = None,
                      to_stdout: bool = False) -> None:
    if fmt == "json":
        counts = {} if report is None else {"core_checked": report.core_checked, "custom_checked": report.custom_checked,
                                            "skipped": report.skipped}
        _out(render_json(diagnostics, **counts))
    elif fmt == "github":
        _out(render_github(diagnostics))
    else:
        (sys.stdout if to_stdout else sys.stderr).write(render_text(diagnostics))


def _load(args: argparse.Namespace) -> Prepared:
    path = args.portfolio or args.root / "portfolio.yaml"
    return prepare(path, display_name=_display(path))


def _validate(loaded: Prepared, args: argparse.Namespace, *, stories: Severity = "error") -> ValidationReport:
    """Every check of the rendered tree; a failed scenario is `stories` (a build still writes a correct tree whose
    demo stories changed: `scenarios --accept` records the new story, and validate, run in CI, says it is due)."""
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


def _loaded_and_tree(args: argparse.Namespace) -> tuple[Prepared, Tree]:
    """For commands whose output is not a report of problems: warnings go to standard error first."""
    loaded = _load(args)
    sys.stderr.write(render_text(loaded.warnings))
    return loaded, loaded.tree


def _check_models(names: list[str], loaded: Prepared) -> None:
    known = [m.name for m in loaded.portfolio.models]
    for name in names:
        if name not in known:
            raise UsageError(f"unknown model {name!r}; models: {', '.join(known)}")


def cmd_plan(args: argparse.Namespace) -> int:
    loaded, tree = _loaded_and_tree(args)
    _check_models(args.enable + args.disable, loaded)
    snapshot = plan(loaded.portfolio, tree, enable=args.enable, disable=args.disable, selector_rule=args.selector_rule)
    _out(plan_json(snapshot) if args.format == "json" else plan_text(snapshot, loaded.portfolio.cluster.gpu_resource))
    return EXIT_OK


def _accept(loaded: Prepared, runs: list[ScenarioRun], path: Path) -> None:
    """Rewrite the failed expectations to the simulated outcome; print each change."""
    from generator.model.edit import NewExpectation, set_expectations

    updates = []
    for s_index, run in enumerate(runs):
        for t_index, step in enumerate(run.steps):
            for mismatch in step.mismatches:
                got = step.snapshot.model(mismatch.model)
                flavor = got.flavor if got.state in ("admitted", "unschedulable") else None
                updates.append(NewExpectation(s_index, t_index, mismatch.model, got.state, flavor))
                _out(f"{_display(path)}: scenario {run.scenario.name}, step {t_index + 1}: {mismatch.model}: "
                     f"{mismatch.expected} -> {describe(got.state, flavor)}\n")
    if not updates:
        _out(f"{_display(path)}: every expectation holds; nothing to accept\n")
        return
    text = set_expectations(read_portfolio_text(path).decode("utf-8"), updates)
    atomic_write(path, text)


def cmd_scenarios(args: argparse.Namespace) -> int:
    loaded, tree = _loaded_and_tree(args)
    runs = run_all(loaded.portfolio, tree, selector_rule=args.selector_rule)
    if args.accept:
        path = args.portfolio or args.root / "portfolio.yaml"
        _accept(loaded, runs, path)
        loaded = prepare(path, display_name=_display(path))
        runs = run_all(loaded.portfolio, loaded.tree, selector_rule=args.selector_rule)
    _out(scenarios_json(runs) if args.format == "json" else scenarios_text(runs))
    return EXIT_OK if all(r.passed for r in runs) else EXIT_PROBLEMS


def cmd_runbook(args: argparse.Namespace) -> int:
    from generator.runbook import SECTIONS, build_runbook
    from generator.runbook.formats import to_markdown, to_notebook, to_shell

    loaded, tree = _loaded_and_tree(args)
    scenarios = [s.name for s in loaded.portfolio.scenarios]
    section, scenario = args.section, args.name
    if section is not None and section not in SECTIONS:
        if section not in scenarios or scenario is not None:
            raise UsageError(f"unknown section or scenario {section!r}; sections: {', '.join(SECTIONS)}; "
                             f"scenarios: {', '.join(scenarios) or 'none declared'}")
        section, scenario = "scenario", section
    if scenario is not None and (section != "scenario" or scenario not in scenarios):
        raise UsageError(f"unknown scenario {scenario!r}; scenarios: {', '.join(scenarios) or 'none declared'}")
    runs = run_all(loaded.portfolio, tree)
    sections = build_runbook(loaded.portfolio, tree, runs, only=section, scenario=scenario)
    title = f"Runbook: {loaded.portfolio.gitops.application}"
    if args.format == "notebook":
        text = to_notebook(title, sections)
    elif args.format == "sh":
        text = to_shell(title, sections, default=["prerequisites", "deploy", "verify"])
    else:
        text = to_markdown(title, sections)
    if args.output:
        try:
            atomic_write(args.output, text, create_parents=False)
        except OSError as error:
            raise UsageError(f"-o {args.output}: cannot write: {error.strerror or error}") from error
        _out(f"wrote {args.output}\n")
    else:
        _out(text)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    report = _validate(loaded, args)
    _emit_diagnostics(report.diagnostics, args.format, report=report, to_stdout=True)
    if args.format != "json":
        errors = sum(d.severity == "error" for d in report.diagnostics)
        verdict = f"{errors} error(s)" if errors else "valid"
        crds = "" if args.crd_dir else " (no --crd-dir: custom resources not checked against CRDs)"
        (sys.stderr if args.format == "github" else sys.stdout).write(f"{verdict}: {report.summary()}{crds}\n")
    return EXIT_PROBLEMS if has_errors(report.diagnostics) else EXIT_OK


def _base_side(args: argparse.Namespace, against: Path) -> tuple[Side | None, str | None]:
    """The base's portfolio, loaded and rendered, for the summary; or why it cannot be."""
    import tempfile

    from generator.output.semantic_diff import file_from_git

    portfolio = args.portfolio or args.root / "portfolio.yaml"
    if against.is_dir():
        text = (against / "portfolio.yaml").read_text(encoding="utf-8") if (against / "portfolio.yaml").is_file() else None
    else:
        try:
            relative = portfolio.resolve().relative_to(args.root.resolve()).as_posix()
        except ValueError:
            relative = portfolio.name
        text = file_from_git(args.root, args.against, relative)
    if text is None:
        return None, "no portfolio.yaml there"
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "portfolio.yaml").write_text(text, encoding="utf-8")
        try:
            base = prepare(Path(scratch) / "portfolio.yaml", display_name="portfolio.yaml")
        except GeneratorError as error:
            return None, f"it does not load: {error}"
    return Side.of(base.portfolio, base.tree), None


def cmd_diff(args: argparse.Namespace) -> int:
    from generator.output.semantic_diff import compare, diff_json, diff_text, tree_from_directory, tree_from_git

    loaded, tree = _loaded_and_tree(args)
    against = Path(args.against)
    old = tree_from_directory(against) if against.is_dir() else tree_from_git(args.root, args.against)
    changes = compare(old, tree)
    if args.format == "markdown":
        base, problem = _base_side(args, against)
        _out(markdown_summary(base, Side.of(loaded.portfolio, tree), changes, base=args.against, base_problem=problem))
    else:
        _out(diff_json(changes) if args.format == "json" else diff_text(changes))
    return EXIT_PROBLEMS if args.exit_code and changes else EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    loaded = _load(args)
    tree = loaded.tree
    report = _validate(loaded, args, stories="warning")
    if has_errors(report.diagnostics):
        raise DiagnosticsError(report.diagnostics)
    if args.command == "check" or args.check:
        diff = diff_tree(tree, args.root)
        if diff:
            _out(diff)
            sys.stderr.write("gitops/ differs from what portfolio.yaml renders; run `python -m generator build`\n")
            return EXIT_PROBLEMS
        _out(f"gitops/ is up to date: {len(tree)} files match {_display(args.portfolio or args.root / 'portfolio.yaml')}\n")
        return EXIT_OK
    _emit_diagnostics([d for d in report.diagnostics if d.severity == "warning"], args.format)
    written = write_tree(tree, args.root)
    elapsed = time.perf_counter() - started
    _out(f"{len(tree)} files rendered: {len(written.written)} written, {len(written.unchanged)} unchanged, "
         f"{len(written.removed)} removed; {report.summary()}; {elapsed:.2f}s\n")
    for path in written.written:
        _out(f"  wrote   {path}\n")
    for path in written.removed:
        _out(f"  removed {path}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from generator.model.schema import json_schema

    text = json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    target = args.root / SCHEMA_PATH
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if args.check:
        if current != text:
            sys.stderr.write(f"{SCHEMA_PATH} is stale; run `python -m generator schema`\n")
            return EXIT_PROBLEMS
        _out(f"{SCHEMA_PATH} is up to date\n")
        return EXIT_OK
    if current != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        _out(f"wrote {SCHEMA_PATH}\n")
    else:
        _out(f"{SCHEMA_PATH} is up to date\n")
    return EXIT_OK


def cmd_set_state(args: argparse.Namespace) -> int:
    import tempfile

    from generator.model.edit import set_model_states

    states: dict[str, str] = {}
    for assignment in args.assignments:
        name, _, state = assignment.partition("=")
        if state not in ("active", "queued"):
            raise UsageError(f"{assignment!r}: write MODEL=active or MODEL=queued")
        states[name] = state
    path = args.portfolio or args.root / "portfolio.yaml"

    text = read_portfolio_text(path).decode("utf-8", errors="strict")
    new_text, changes = set_model_states(text, states)
    with tempfile.TemporaryDirectory() as scratch:  # the edited portfolio must pass every check before it replaces the old
        candidate = Path(scratch) / path.name
        candidate.write_text(new_text, encoding="utf-8")
        prepared = prepare(candidate, display_name=_display(path))
    if changes:
        atomic_write(path, new_text)
    for change in changes:
        _out(f"{_display(path)}: {change.model}: state {change.old} -> {change.new}\n")
    if not changes:
        _out(f"{_display(path)}: nothing to change\n")
    if prepared.warnings:
        sys.stderr.write(render_text(prepared.warnings))
    return EXIT_OK


COMMANDS = {"build": cmd_build, "check": cmd_build, "validate": cmd_validate, "schema": cmd_schema,
            "plan": cmd_plan, "scenarios": cmd_scenarios, "runbook": cmd_runbook, "diff": cmd_diff,
            "set-state": cmd_set_state}


def main(argv: Sequence[str] | None = None) -> int:
    fmt, command = "text", None
    try:
        args = build_parser().parse_args(argv)
        fmt, command = getattr(args, "format", "text"), args.command
        return COMMANDS[args.command](args)
    except DiagnosticsError as error:
        _emit_diagnostics(error.diagnostics, fmt, to_stdout=command == "validate")
        return EXIT_PROBLEMS if has_errors(error.diagnostics) else EXIT_OK
    except UsageError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_USAGE
    except GeneratorError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as error:  # the last line of defence: a bug, reported without a traceback
        sys.stderr.write(f"internal error: {type(error).__name__}: {error}\n"
                         "this is a bug in the generator; please report it with the command you ran\n")
        return EXIT_INTERNAL

"""Command line: parse arguments, run one command, print its Outcome, choose the exit code.

Each command lives in `generator.commands.<name>` and is imported only when it runs, so `plan` does not pay
for the CRD machinery of `validate`. Nothing but `generator.console` prints.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from generator.console import EXIT_INTERNAL, EXIT_PROBLEMS, EXIT_USAGE, Outcome, emit, err
from generator.errors import DiagnosticsError, GeneratorError, UsageError

# command -> (module under generator.commands, one-line help, examples shown by --help)
COMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "build": ("build", "render, validate and write the gitops/ tree", (
        "python -m generator build",
        "python -m generator build --check                 # CI: exit 1 with a diff when gitops/ is stale",
        "python -m generator build --crd-dir crds --format json")),
    "check": ("build", "the same as build --check", ("python -m generator check",)),
    "validate": ("validate", "portfolio rules, lint, every rendered document against its schema and CEL rules", (
        "python -m generator validate --crd-dir ../shared/crds",
        "python -m generator validate --crd-dir crds --format github   # annotations on the pull request")),
    "plan": ("plan", "simulate Kueue admission and node fit of the models", (
        "python -m generator plan",
        "python -m generator plan --enable devstral-2 --disable mistral-3-bf16 --format json",
        "python -m generator plan --env dev                 # the dev cluster: its nodes, quota and models")),
    "scenarios": ("scenarios", "run the scenarios declared in the portfolio", (
        "python -m generator scenarios",
        "python -m generator scenarios --accept            # record what the simulation now says")),
    "runbook": ("runbook", "the operating procedure, generated from the portfolio and the tree", (
        "python -m generator runbook > RUNBOOK.md",
        "python -m generator runbook verify",
        "python -m generator runbook resource-handover --format sh -o handover.sh")),
    "diff": ("diff", "what the change does to the cluster, by resource and field", (
        "python -m generator diff                          # against HEAD",
        "python -m generator diff --against origin/main --format markdown >> $GITHUB_STEP_SUMMARY")),
    "set-state": ("state", "switch models on or off in portfolio.yaml, keeping its comments and layout", (
        "python -m generator set-state devstral-2=active mistral-3-bf16=queued",)),
    "rename": ("rename", "rename a flavor, model or team and every reference to it in portfolio.yaml", (
        "python -m generator rename flavor nvidia-l4-1gpu l4-single",
        "python -m generator rename model devstral-2 devstral-small")),
    "remove": ("remove", "remove a model from portfolio.yaml, with its scenario and environment references", (
        "python -m generator remove model gpt-oss-20b",)),
    "sandbox": ("sandbox", "the tree on a real control plane in a box: API server, scheduler, Kueue, KServe, kwok nodes", (
        "python -m generator sandbox --portfolio tests/fixtures/portfolios/valid/demo/portfolio.yaml",
        "python -m generator sandbox --scenario resource-handover   # replay a scenario on the real controllers",
        "python -m generator sandbox --env dev --keep       # leave it up; prints the KUBECONFIG line",
        "python -m generator sandbox down")),
    "schema": ("schema", "write schemas/portfolio.schema.json from the typed model", (
        "python -m generator schema", "python -m generator schema --check")),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


class _Version(argparse.Action):
    """--version, reading the installed version only when asked (importlib.metadata is slow to import)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        sys.stdout.write(f"{parser.prog} {_version()}\n")
        parser.exit()


def _version() -> str:
    try:
        from importlib import metadata

        return metadata.version("gpuaas-generator")
    except ImportError:
        return "unknown (not installed)"


def _common(parser: argparse.ArgumentParser, *, crds: bool = True,
            formats: tuple[str, ...] = ("text", "json", "github")) -> None:
    parser.add_argument("--portfolio", type=Path, default=None,
                        help="portfolio file, or - for standard input (default: ROOT/portfolio.yaml)")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root that holds gitops/ (default: .)")
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format (default: %(default)s)")
    if crds:
        parser.add_argument("--crd-dir", type=Path, action="append", default=[],
                            help="validate custom resources against the CRDs in this folder (repeatable)")
        parser.add_argument("--allow-missing-schemas", action="store_true",
                            help="skip custom resources with no CRD instead of failing")


def _selector_rule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--selector-rule", choices=("current", "union"), default="current",
                        help="nodeSelector against flavor labels: Kueue's current rule, or the union-of-keys rule of "
                             "Kueue before v0.17.8 / v0.18.3 / v0.19.0")


def _environment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", metavar="NAME", default=None,
                        help="an environments[] entry: its nodes, quota and running models (default: the base)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m generator", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="GitOps generator for GPU-as-a-Service model portfolios on OpenShift AI.",
                     epilog="exit codes: 0 success, 1 problems found, 2 usage error, 3 internal error (a bug)")
    parser.add_argument("-V", "--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    made = {}
    for name, (_, summary, examples) in COMMANDS.items():
        made[name] = sub.add_parser(name, help=summary, description=summary,
                                    formatter_class=argparse.RawDescriptionHelpFormatter,
                                    epilog="examples:\n" + "\n".join(f"  {e}" for e in examples))
    _common(made["build"])
    made["build"].add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when gitops/ is stale")
    _common(made["check"])
    _common(made["validate"])

    _common(made["plan"], crds=False, formats=("text", "json"))
    made["plan"].add_argument("--enable", action="append", default=[], metavar="MODEL", help="switch MODEL on")
    made["plan"].add_argument("--disable", action="append", default=[], metavar="MODEL", help="switch MODEL off")
    _selector_rule(made["plan"])
    _environment(made["plan"])

    _common(made["scenarios"], crds=False, formats=("text", "json"))
    _selector_rule(made["scenarios"])
    _environment(made["scenarios"])
    made["scenarios"].add_argument("--accept", action="store_true",
                                   help="rewrite each failed expectation to what the simulation now says, in "
                                        "portfolio.yaml, keeping its comments and layout")

    runbook = made["runbook"]
    _common(runbook, crds=False, formats=("markdown", "sh", "notebook"))
    runbook.add_argument("section", nargs="?",
                         help="prerequisites, deploy, verify, scenario [NAME], smoke-test, troubleshoot, cleanup, "
                              "or a scenario name (default: every section)")
    runbook.add_argument("name", nargs="?", help="with `scenario`: one scenario (default: all)")
    runbook.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")

    _common(made["diff"], crds=False, formats=("text", "json", "markdown"))
    made["diff"].add_argument("--against", default="HEAD",
                              help="a directory holding gitops/, or a git revision of the root (default: HEAD)")
    made["diff"].add_argument("--exit-code", action="store_true", help="exit 1 when there are differences")

    made["set-state"].add_argument("assignments", nargs="+", metavar="MODEL=STATE", help="STATE is active or queued")

    rename = made["rename"]
    rename.add_argument("kind", choices=("flavor", "model", "team"), help="what to rename")
    rename.add_argument("old", metavar="OLD", help="its name now")
    rename.add_argument("new", metavar="NEW", help="its new name (a DNS-1123 label)")
    remove = made["remove"]
    remove.add_argument("kind", choices=("model",), help="what to remove")
    remove.add_argument("name", metavar="NAME", help="the model's name")
    for editing in (made["set-state"], rename, remove):
        editing.add_argument("--portfolio", type=Path, default=None, help="portfolio file (default: ROOT/portfolio.yaml)")
        editing.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")

    sandbox = made["sandbox"]
    sandbox.add_argument("action", nargs="?", choices=("up", "down"), default="up",
                         help="up: build and start the box, sync the tree, show the live state (default); down: stop it")
    _common(sandbox, crds=False, formats=("text", "json"))
    sandbox.add_argument("--crd-dir", type=Path, action="append", default=[],
                         help="serve the CRDs in this folder (repeatable; default: ROOT/../shared/crds)")
    _environment(sandbox)
    sandbox.add_argument("--scenario", metavar="NAME", default=None,
                         help="replay this scenario step by step on the box, as the runbook enacts it, beside plan; "
                              "exit 1 when the box differs from what a step expects")
    sandbox.add_argument("--keep", action="store_true", help="leave the box up and print the KUBECONFIG line")
    sandbox.add_argument("--state", type=Path, default=None,
                         help="the box's state directory (default: $GPUAAS_GENERATOR_BOX or ~/.cache/gpuaas-generator/box/default)")

    made["schema"].add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    made["schema"].add_argument("--check", action="store_true", help="write nothing; exit 1 when the committed schema is stale")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    fmt, command = "text", "generator"
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help and --version print and stop here
            return int(done.code or 0)
        fmt, command = getattr(args, "format", "text"), args.command
        module = importlib.import_module(f"generator.commands.{COMMANDS[command][0]}")
        return emit(module.run(args), fmt)
    except DiagnosticsError as error:
        return emit(Outcome(command, EXIT_PROBLEMS, diagnostics=error.diagnostics), fmt)
    except UsageError as error:
        err(f"error: {error}\n")
        return EXIT_USAGE
    except GeneratorError as error:
        if fmt == "json":
            return emit(Outcome(command, EXIT_PROBLEMS, result={"error": str(error)}), fmt)
        err(f"error: {error}\n")
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        err("interrupted\n")
        return 130
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _internal(error)
        # every writer reports a full disk itself; this is the net for a write that was not expected to fail
        err(f"error: no space left on device ({error.filename or 'while writing'}); free some space and run the command "
            "again\n")
        return EXIT_PROBLEMS
    except ModuleNotFoundError as error:  # a dependency missing from this Python is set-up, not a bug
        if not error.name or error.name.split(".")[0] == "generator":
            return _internal(error)
        err(f"error: the Python module {error.name!r}, which the generator needs, is not installed in "
            f"{sys.executable}; install the project with its dependencies (pip install -e .) or run the "
            "Python that has them (.venv/bin/python -m generator, as the README sets up)\n")
        return EXIT_USAGE
    except Exception as error:  # the last line of defence: a bug, reported without a traceback
        return _internal(error)


def _internal(error: BaseException) -> int:
    err(f"internal error: {type(error).__name__}: {error}\n"
        "this is a bug in the generator; please report it with the command you ran\n")
    return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover - `python -m generator` goes through __main__.py
    sys.exit(main())

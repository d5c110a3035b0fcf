"""Shared helpers: fixture locations, loading portfolios from text, rendering fixture trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from generator.diagnostics import Diagnostic
from generator.errors import DiagnosticsError
from generator.output.tree import write_tree
from generator.pipeline import Prepared, prepare
from generator.render import render
from generator.render.common import Tree

# Property tests: few examples in the fast run, many in CI (.ci/run sets HYPOTHESIS_PROFILE=ci).
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fast")
settings.register_profile("fast", deadline=None)
settings.register_profile("ci", deadline=None)
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(in_ci: int) -> int:
    """A property's examples: `in_ci` in CI's profile, a twentieth of them (at least 10) in the fast run."""
    return in_ci if HYPOTHESIS_PROFILE == "ci" else max(10, in_ci // 20)


def sized(in_ci: int, fast: int) -> int:
    """How much a scale or endurance test does: `in_ci` in CI's profile, `fast` in the fast run."""
    return in_ci if HYPOTHESIS_PROFILE == "ci" else fast


# The built box (cluster/build, tens of minutes cold) is the user's, reused across runs: the build cache stays
# where it was before the lines below move the generator's cache (generator.sandbox.build reads it).
os.environ.setdefault("GPUAAS_GENERATOR_BUILD_CACHE",
                      os.environ.get("GPUAAS_GENERATOR_CACHE") or str(Path.home() / ".cache" / "gpuaas-generator"))
# Converted CRDs are cached between runs; the tests keep theirs apart from the user's, one for the whole run: the
# parallel workers (pytest-xdist) and subprocesses inherit it, so the CRDs are converted once, not once per worker.
if "GPUAAS_GENERATOR_TEST_CACHE" not in os.environ:
    os.environ["GPUAAS_GENERATOR_TEST_CACHE"] = tempfile.mkdtemp(prefix="gpuaas-generator-test-cache-")
os.environ["GPUAAS_GENERATOR_CACHE"] = os.environ["GPUAAS_GENERATOR_TEST_CACHE"]

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIOS = ROOT / "tests" / "fixtures" / "portfolios"
# "default" in the tests is valid/demo: the demo portfolio as the project ships it, frozen here so that a user's
# edit of the repository's portfolio.yaml never turns the generator's own tests red.
DEMO = PORTFOLIOS / "valid" / "demo" / "portfolio.yaml"
VALID = sorted(p.name for p in (PORTFOLIOS / "valid").iterdir() if p.is_dir() and p.name != "demo")
INVALID = sorted(p.name for p in (PORTFOLIOS / "invalid").iterdir() if p.is_dir())
WARNINGS = sorted(p.name for p in (PORTFOLIOS / "warnings").iterdir() if p.is_dir())
MINIMAL_TEXT = (PORTFOLIOS / "valid" / "minimal" / "portfolio.yaml").read_text(encoding="utf-8")


def portfolio_path(name: str) -> Path:
    """'default' is the demo fixture (valid/demo); other names are fixtures under valid/."""
    return DEMO if name == "default" else PORTFOLIOS / "valid" / name / "portfolio.yaml"


def load_named(name: str) -> Prepared:
    return prepare(portfolio_path(name), display_name="portfolio.yaml")


def render_named(name: str) -> Tree:
    return render(load_named(name).portfolio)


def load_text(tmp_path: Path, text: str) -> Prepared:
    path = tmp_path / "portfolio.yaml"
    path.write_text(text, encoding="utf-8")
    return prepare(path, display_name="portfolio.yaml")


def problems_in(tmp_path: Path, text: str) -> list[Diagnostic]:
    try:
        load_text(tmp_path, text)
    except DiagnosticsError as error:
        return error.diagnostics
    return []


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


# The real upstream CRDs: ../shared/crds beside the repository, or CRD_DIR (CI fetches them at pinned releases).
UPSTREAM_CRDS = Path(os.environ.get("CRD_DIR") or ROOT.parent / "shared" / "crds")


@pytest.fixture(scope="session")
def upstream_crds() -> Path:
    if not (UPSTREAM_CRDS / "kueue").is_dir():
        pytest.fail(f"the upstream CRDs are required in {UPSTREAM_CRDS} (set CRD_DIR, or run .ci/fetch-crds DIR); "
                    "these tests check the API server's own rules and must not be skipped")
    return UPSTREAM_CRDS


@pytest.fixture(scope="session")
def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is required (kustomize build tests); install it, do not skip these tests")
    return found


def kustomize(kubectl: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)


def materialize(tree: Tree, root: Path) -> Path:
    write_tree(tree, root)
    return root


def line_of(path: Path, text: str, *, after: str | None = None) -> int:
    """1-based number of the first line equal to `text` (after the line equal to `after`, if given)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(after) if after is not None else 0
    return lines.index(text, start) + 1


def emitted_line(tree: Tree, file: str, text: str, *, after: str | None = None) -> int:
    """1-based number of the first line of the emitted file equal to `text` (after the line equal to `after`)."""
    from generator.output.serialize import dump_documents

    lines = dump_documents(tree[file]).splitlines()
    start = lines.index(after) if after is not None else 0
    return lines.index(text, start) + 1


# A failed snapshot test says how to accept the change it shows, with the one command for its file.
SNAPSHOT_UPDATE = "snapshot_update"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed and "snapshot" in getattr(item, "fixturenames", ()):
        path = Path(str(item.path))
        shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        command = f".venv/bin/python -m pytest {shown} --snapshot-update"
        report.user_properties.append((SNAPSHOT_UPDATE, command))
        report.sections.append(("snapshot", f"if the change is intended, accept it with: {command}"))
    return None


# Box tests that start boxes of their own (Argo CD owns its box; the differential run needs one without KServe) and
# so share nothing with the rest of the tier, which shares the demo's box and the boxes after it.
OWN_BOX_MODULES = ("tests/box/test_argocd", "tests/box/test_differential")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadgroup` the box tier is two work units, each run by one worker in collection order while the
    other workers take the rest: the tests that share boxes (one at a time, handed from test to test) and the tests
    that start boxes of their own. Two boxes at once fit a 2-core machine (a box keeps about one core busy) and halve
    the tier's wall time. xdist's own `xdist_group` mark does not reach the scheduler under pytest 9 (the group suffix
    it adds to node ids is lost), so the units are made here, on the controller, from the node id."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BoxTierInTwoUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if not nodeid.startswith("tests/box/"):
                return nodeid
            return "box-own" if nodeid.startswith(OWN_BOX_MODULES) else "box-shared"

    return BoxTierInTwoUnits(config, log)


# What the box tier measured (box starts, replays, the handover), printed at the end of the run. Under xdist the
# worker that ran the tier hands its figures to the controller, which prints them.
BOX_FIGURES: list[str] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["box_figures"] = list(BOX_FIGURES)


def pytest_testnodedown(node: Any, error: Any) -> None:
    BOX_FIGURES.extend(getattr(node, "workeroutput", {}).get("box_figures", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if BOX_FIGURES and not hasattr(terminalreporter.config, "workeroutput"):
        terminalreporter.section("box tier figures")
        for line in BOX_FIGURES:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"load average at the end: {os.getloadavg()[0]:.1f}")
    commands = sorted({value for report in terminalreporter.stats.get("failed", [])
                       for key, value in getattr(report, "user_properties", []) if key == SNAPSHOT_UPDATE})
    if commands:
        terminalreporter.section("snapshots that changed")
        terminalreporter.write_line("If the change is intended (read the diff above), accept it with:")
        for command in commands:
            terminalreporter.write_line(f"  {command}")

"""The box tier: tests that run on the control plane in a box (real kube-apiserver, scheduler, controllers).

Every test here is marked `box`. The tier is never skipped: without Go the `sandbox_demo` fixture fails with
the fix. One box serves the tier's core tests: `python -m generator sandbox --keep` on the demo fixture,
started once per session in a temporary state directory and stopped with `sandbox down` at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import DEMO, ROOT, UPSTREAM_CRDS
from generator.pipeline import Prepared, prepare
from generator.sandbox.box import Box

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.box)


def generator_command(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`python -m generator ARGS` in the repository, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def require_go() -> None:
    if shutil.which("go") is None:
        pytest.fail("the box tier needs Go (the control plane is built from Go modules by cluster/build): install Go "
                    "1.26 or newer (https://go.dev/dl/) and run the tests again; this tier is never skipped")


@dataclass
class Sandbox:
    """The box `sandbox --keep` left up, what the command reported, and the portfolio it ran."""

    box: Box
    report: dict[str, Any]
    loaded: Prepared
    seconds: float  # the whole command: build check, start, sync, live view


@pytest.fixture(scope="session")
def sandbox_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    require_go()
    state = tmp_path_factory.mktemp("box") / "demo"
    build = generator_command("sandbox", "--help")  # the command exists before a long build starts
    assert build.returncode == 0, build.stderr
    started = time.monotonic()
    done = generator_command("sandbox", "--portfolio", str(DEMO), "--crd-dir", str(UPSTREAM_CRDS), "--keep",
                             "--state", str(state), "--format", "json")
    seconds = time.monotonic() - started
    try:
        if done.returncode != 0:
            pytest.fail(f"`sandbox` failed (exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        report = json.loads(done.stdout)
        yield Sandbox(Box(state), report, prepare(DEMO, display_name="portfolio.yaml"), seconds)
    finally:
        generator_command("sandbox", "down", "--state", str(state), timeout=120)


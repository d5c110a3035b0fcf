"""The box tier: tests that run on the control plane in a box (real kube-apiserver, scheduler, controller manager,
Kueue, KServe; kwok for the kubelets).

Every test here is marked `box`. The tier is never skipped: without Go the first box fails with the fix. The tier
shares its boxes: `boxes` runs one box at a time, and hands a test the running one when it runs the same
application documents on the same nodes (the demo fixture and the environments fixture's `prod` are one box),
else stops it and starts the box the test asks for. The first box is the demo fixture's, started the way a user
starts it: `python -m generator sandbox --scenario resource-handover --keep` (`sandbox_demo`). A test that changes
what runs on a box puts the baseline back (`Served.baseline()`) or replays from a reset of its own.
test_argocd.py starts a box of its own (Argo CD syncing the tree owns it), before the shared one starts;
test_differential.py runs last, in a box of its own without KServe (generator.sandbox.differential), once the shared
one is stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from box.boxes import FIGURES, Boxes, Sandbox, Served, generator_command, require_go
from conftest import DEMO, UPSTREAM_CRDS
from generator.pipeline import prepare
from generator.sandbox.box import Box

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is marked `box` (under `-n N --dist loadgroup` two workers run them, one per work unit: tests/conftest.py)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.box)
    # The differential run's box (no KServe) goes last: it stops the shared box, which the others reuse.
    items.sort(key=lambda item: Path(str(item.fspath)).resolve() == HERE / "test_differential.py")


@pytest.fixture(scope="session")
def boxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxes]:
    pool = Boxes(tmp_path_factory.mktemp("boxes"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def sandbox_demo(boxes: Boxes, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    require_go()
    state = tmp_path_factory.mktemp("box") / "demo"
    build = generator_command("sandbox", "--help")  # the command exists before a long build starts
    assert build.returncode == 0, build.stderr
    started = time.monotonic()
    done = generator_command("sandbox", "--portfolio", str(DEMO), "--crd-dir", str(UPSTREAM_CRDS), "--scenario",
                             "resource-handover", "--keep", "--state", str(state), "--format", "json")
    seconds = time.monotonic() - started
    box = Box(state)
    if done.returncode not in (0, 1) or not done.stdout.startswith("{"):
        box.stop()
        pytest.fail(f"`sandbox` failed (exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    loaded = prepare(DEMO, display_name="portfolio.yaml")
    report = json.loads(done.stdout)
    boxes.adopt(Served(box, loaded.portfolio, loaded.tree, seconds))
    FIGURES.append(f"demo: `sandbox --scenario resource-handover --keep` in {seconds:.1f} s")
    return Sandbox(box, report, done.returncode, loaded, seconds)


@pytest.fixture
def demo(sandbox_demo: Sandbox, boxes: Boxes) -> Served:
    """The demo fixture's box (the session's first), as it is."""
    return boxes.get(sandbox_demo.loaded.portfolio, sandbox_demo.loaded.tree, "demo")

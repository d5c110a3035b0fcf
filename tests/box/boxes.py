"""The box tier's shared boxes and the helpers its tests use (the fixtures are in conftest.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import BOX_FIGURES, ROOT, UPSTREAM_CRDS
from generator.admission.plan import Cluster
from generator.model.derive import model_namespace
from generator.model.portfolio import Portfolio
from generator.pipeline import Prepared
from generator.render.common import Tree
from generator.sandbox.apply import application_documents, sync_tree
from generator.sandbox.box import Box
from generator.sandbox.build import ensure_built
from generator.sandbox.nodes import make_nodes, node_documents
from generator.sandbox.replay import Switch, reset
from generator.sandbox.stack import stack

FIXTURES = ROOT / "tests" / "fixtures" / "portfolios" / "valid"
TEAMS = FIXTURES / "teams" / "portfolio.yaml"
ENVIRONMENTS = FIXTURES / "environments" / "portfolio.yaml"
FIGURES = BOX_FIGURES  # what the tier measured, printed at the end of the run (tests/conftest.py)


def wait_for(what: str, check: Callable[[], Any], *, timeout: float, describe: Callable[[], str] | None = None,
             every: float = 1.0) -> Any:
    """Poll `check` until it returns something true and return that; fail naming `what` (and `describe()` of the
    last state, when given) once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s" + (f"; last state:\n{describe()}" if describe else ""))
        time.sleep(every)


def generator_command(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`python -m generator ARGS` in the repository, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def require_go() -> None:
    """Go is there and the box is built: a cold build (tens of minutes, one at a time: cluster/build holds a lock, so
    the tier's second worker waits for the first's) happens here, under no command's timeout."""
    if shutil.which("go") is None:
        pytest.fail("the box tier needs Go (the control plane is built from Go modules by cluster/build): install Go "
                    "1.26 or newer (https://go.dev/dl/) and run the tests again; this tier is never skipped")
    started, said = time.monotonic(), []
    ensure_built(said.append)
    built = [line for line in said if line.startswith("cluster/build: built ")]
    if built:
        FIGURES.append(f"cluster/build: {len(built)} binaries built in {time.monotonic() - started:.0f} s")


def box_key(portfolio: Portfolio, tree: Tree) -> str:
    """What makes two boxes the same: the documents the Application syncs and the Nodes."""
    return json.dumps([application_documents(tree, portfolio.gitops.application), node_documents(portfolio, tree)],
                      sort_keys=True)


@dataclass
class Served:
    """A running box and the portfolio whose tree it runs (synced, with Kueue and KServe)."""

    box: Box
    portfolio: Portfolio
    tree: Tree
    seconds: float = 0.0  # how long it took to start and sync (0 for a box handed on)

    def namespace(self, model: str) -> str:
        return model_namespace(next(m for m in self.portfolio.models if m.name == model), self.portfolio)

    def switch(self) -> Switch:
        return Switch(self.box, self.portfolio, self.tree)

    def baseline(self) -> Cluster:
        """Every model stopped, then the portfolio's active models started in its order, as plan's baseline has
        them; returns the simulator at that baseline."""
        reset(self.box, self.portfolio, self.switch(), [m.name for m in self.portfolio.models if m.state == "active"],
              lambda line: None)
        return Cluster(self.portfolio, self.tree)


def _objects(portfolio: Portfolio, tree: Tree) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["kind"], str(d["metadata"].get("namespace") or ""), d["metadata"]["name"]): d
            for d in application_documents(tree, portfolio.gitops.application)}


def same_objects(a: Served, portfolio: Portfolio, tree: Tree) -> bool:
    """Whether `tree` holds the objects of the one `a` runs, by kind, namespace and name, and the same Jobs (a Job's
    pod template cannot change): a sync of `tree` then changes the running box into its box, as Argo CD syncing an
    environment's overlay changes a cluster."""
    old, new = _objects(a.portfolio, a.tree), _objects(portfolio, tree)
    return set(old) == set(new) and all(old[k] == new[k] for k in old if k[0] == "Job")


def retarget(served: Served, portfolio: Portfolio, tree: Tree) -> None:
    """Make the running box `tree`'s (see same_objects): every model stopped, the tree synced onto it in Argo CD's
    order, and its Nodes made `tree`'s (Nodes no longer wanted deleted, new ones made Ready, changed ones made anew)."""
    box = served.box
    reset(box, served.portfolio, served.switch(), [], lambda line: None)
    sync_tree(box, tree, portfolio.gitops.application)
    wanted = {n["metadata"]["name"]: n for n in node_documents(portfolio, tree)}
    _, listed = box.request("GET", "/api/v1/nodes")
    live = {n["metadata"]["name"]: n for n in listed["items"]}
    for name, node in live.items():
        shape = wanted.get(name)
        if shape is None or any((node["metadata"].get(k) or {}) != (shape["metadata"].get(k) or {}) for k in ("labels",)) \
                or node["status"]["allocatable"] != shape["status"]["allocatable"] \
                or (node["spec"].get("taints") or []) != (shape["spec"].get("taints") or []):
            status, body = box.request("DELETE", f"/api/v1/nodes/{name}")
            assert status == 200, f"deleting Node {name}: {body}"
            box.wait_until("kube-apiserver", lambda name=name: box.request("GET", f"/api/v1/nodes/{name}")[0] == 404, 60,
                           what=f"done deleting Node {name}")
        else:
            del wanted[name]
    if wanted:
        make_nodes(box, list(wanted.values()))


@dataclass
class Boxes:
    """The tier's boxes, one running at a time (conftest.py's docstring)."""

    root: Path
    current: Served | None = None
    key: str = ""

    def adopt(self, served: Served) -> None:
        self.close()
        self.current, self.key = served, box_key(served.portfolio, served.tree)

    def get(self, portfolio: Portfolio, tree: Tree, label: str) -> Served:
        key = box_key(portfolio, tree)
        if self.current is not None and key == self.key:
            return Served(self.current.box, portfolio, tree)
        require_go()
        begun = time.monotonic()
        if self.current is not None and same_objects(self.current, portfolio, tree):
            box = self.current.box
            retarget(self.current, portfolio, tree)
            served = Served(box, portfolio, tree, time.monotonic() - begun)
            self.current, self.key = served, key
            FIGURES.append(f"{label}: the running box synced to its tree and nodes in {served.seconds:.1f} s")
            return served
        self.close()
        box = Box(self.root / f"box-{len(FIGURES)}", bin_dir=ensure_built(lambda line: None), progress=lambda line: None)
        box.start(stack(portfolio, tree, [UPSTREAM_CRDS]).components)
        try:
            sync_tree(box, tree, portfolio.gitops.application)
        except BaseException:
            box.stop()
            raise
        served = Served(box, portfolio, tree, time.monotonic() - begun)
        FIGURES.append(f"{label}: box started and the tree synced in {served.seconds:.1f} s")
        self.adopt(served)
        return served

    def close(self) -> None:
        if self.current is not None:
            self.current.box.stop()
        self.current, self.key = None, ""


@dataclass
class Sandbox:
    """The box `sandbox --scenario resource-handover --keep` left up, what the command reported, and its portfolio."""

    box: Box
    report: dict[str, Any]
    exit_code: int
    loaded: Prepared
    seconds: float  # the whole command: build check, start, sync, live view, replay

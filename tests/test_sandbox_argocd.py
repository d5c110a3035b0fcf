"""The parts of Argo CD in the box that need no control plane: the Git server and what the operator writes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.sandbox.argocd import HEALTH_PREFIX, health_customizations
from generator.sandbox.gitserver import publish

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The Git server as the box runs it (its own process), serving the bare repositories under a folder."""
    repositories, port = tmp_path / "repositories", _free_port()
    repositories.mkdir()
    server = subprocess.Popen([sys.executable, "-m", "generator.sandbox.gitserver", f"--root={repositories}", f"--port={port}"],
                              cwd=ROOT, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the Git server did not start"
                time.sleep(0.1)
        yield repositories, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_a_published_tree_is_cloned_over_http_as_the_repo_server_clones_it(served: tuple[Path, str], tmp_path: Path) -> None:
    repositories, base = served
    tree = tmp_path / "tree"
    (tree / "gitops" / "argocd").mkdir(parents=True)
    (tree / "gitops" / "argocd" / "app.yaml").write_text("kind: Application\n", encoding="utf-8")
    first = publish(repositories, "portfolio", tree)

    assert publish(repositories, "portfolio", tree) == first  # the same tree: no new commit
    (tree / "gitops" / "argocd" / "app.yaml").write_text("kind: Application\nmetadata: {name: changed}\n", encoding="utf-8")
    (tree / "portfolio.yaml").write_text("gitops: {}\n", encoding="utf-8")
    second = publish(repositories, "portfolio", tree)

    assert second != first
    assert _git("ls-remote", f"{base}/portfolio.git", "refs/heads/main").split() == [second, "refs/heads/main"]
    clone = tmp_path / "clone"
    _git("clone", "--quiet", f"{base}/portfolio.git", str(clone))
    assert (clone / "gitops" / "argocd" / "app.yaml").read_text(encoding="utf-8") == "kind: Application\nmetadata: {name: changed}\n"
    assert (clone / "portfolio.yaml").is_file()
    assert _git("rev-list", "--parents", "-n", "1", "HEAD", cwd=clone).split() == [second, first]


def test_a_removed_file_is_gone_from_the_next_commit(served: tuple[Path, str], tmp_path: Path) -> None:
    repositories, base = served
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "kept.yaml").write_text("a: 1\n", encoding="utf-8")
    (tree / "stale.yaml").write_text("b: 2\n", encoding="utf-8")
    publish(repositories, "portfolio", tree)
    (tree / "stale.yaml").unlink()
    publish(repositories, "portfolio", tree)

    clone = tmp_path / "clone"
    _git("clone", "--quiet", f"{base}/portfolio.git", str(clone))
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == ["kept.yaml"]


def test_health_checks_become_argocd_cm_keys_as_the_operator_names_them() -> None:
    instances = [{"spec": {"resourceHealthChecks": [
        {"group": "serving.kserve.io", "kind": "InferenceService", "check": "return {status = 'Healthy'}"},
        {"group": "", "kind": "PersistentVolumeClaim", "check": "return {status = 'Progressing'}"},
    ]}}, {"spec": {}}]

    assert health_customizations(instances) == {
        f"{HEALTH_PREFIX}serving.kserve.io_InferenceService": "return {status = 'Healthy'}",
        f"{HEALTH_PREFIX}PersistentVolumeClaim": "return {status = 'Progressing'}",
    }


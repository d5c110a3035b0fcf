"""Writing owns only generated files: atomic writes, pruning, hand-written files left alone, drift shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import render_named
from generator.errors import GeneratorError
from generator.output.tree import HEADER, diff_tree, write_tree


@pytest.fixture
def tree():
    return render_named("minimal")


def test_second_write_changes_nothing(tmp_path: Path, tree) -> None:
    first = write_tree(tree, tmp_path)
    assert len(first.written) == len(tree) and not first.unchanged
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "gitops").rglob("*.yaml")}
    second = write_tree(tree, tmp_path)
    assert second.written == [] and len(second.unchanged) == len(tree)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "gitops").rglob("*.yaml")} == mtimes
    assert not list(tmp_path.rglob("*.tmp"))


def test_stale_generated_files_are_pruned_and_hand_written_kept(tmp_path: Path, tree) -> None:
    write_tree(tree, tmp_path)
    stale = tmp_path / "gitops/old-app/base/inference/gone.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text(HEADER + "kind: ConfigMap\n")
    notes = tmp_path / "gitops/README.md"
    notes.write_text("hand-written notes\n")
    manual = tmp_path / "gitops/step-05-llm-on-vllm/base/extra.yaml"
    manual.write_text("apiVersion: v1\nkind: ConfigMap\n")
    report = write_tree(tree, tmp_path)
    assert report.removed == ["gitops/old-app/base/inference/gone.yaml"]
    assert not (tmp_path / "gitops/old-app").exists()
    assert notes.read_text() == "hand-written notes\n"
    assert manual.exists()


def test_hand_written_file_in_the_way_is_refused_before_anything_is_written(tmp_path: Path, tree) -> None:
    target = tmp_path / "gitops/step-05-llm-on-vllm/base/inference/tiny.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("# mine\n")
    with pytest.raises(GeneratorError, match="hand-written"):
        write_tree(tree, tmp_path)
    assert target.read_text() == "# mine\n"
    assert [p.name for p in (tmp_path / "gitops").rglob("*") if p.is_file()] == ["tiny.yaml"]


def test_check_reports_hand_edits_missing_and_stale_files(tmp_path: Path, tree) -> None:
    write_tree(tree, tmp_path)
    assert diff_tree(tree, tmp_path) == ""
    edited = tmp_path / "gitops/step-05-llm-on-vllm/base/inference/tiny.yaml"
    edited.write_text(edited.read_text().replace("maxReplicas: 1", "maxReplicas: 3"))
    (tmp_path / "gitops/argocd/app-of-apps/kustomization.yaml").unlink()
    (tmp_path / "gitops/stale.yaml").write_text(HEADER + "kind: X\n")
    diff = diff_tree(tree, tmp_path)
    assert "-    maxReplicas: 3\n+    maxReplicas: 1\n" in diff
    assert "--- /dev/null\n+++ b/gitops/argocd/app-of-apps/kustomization.yaml" in diff
    assert "--- a/gitops/stale.yaml\n+++ /dev/null" in diff
    write_tree(tree, tmp_path)
    assert diff_tree(tree, tmp_path) == ""


def test_concurrent_builds_do_not_interleave(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import MINIMAL_TEXT, ROOT, load_named

    (tmp_path / "portfolio.yaml").write_text(MINIMAL_TEXT)
    command = [sys.executable, "-m", "generator", "build", "--root", str(tmp_path)]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    written = sorted(int(out.split(": ")[1].split(" written")[0]) for out, _ in outputs)
    # The lock serialises them: the first writes every file, the others find them unchanged.
    assert written == [0, 0, 0, len(load_named("minimal").tree)]
    assert not list(tmp_path.rglob("*.tmp"))

"""The semantic diff names resources and fields, against a directory or a git revision."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, render_named
from generator.cli import main
from generator.output.semantic_diff import compare, diff_text, tree_from_directory

CHANGED = ("maxModelLen: 8192", "maxModelLen: 4096")


def _changed_root(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "gitops", tmp_path / "gitops")
    (tmp_path / "portfolio.yaml").write_text((ROOT / "portfolio.yaml").read_text().replace(*CHANGED))
    return tmp_path


def test_same_tree_has_no_changes() -> None:
    assert compare(render_named("default"), tree_from_directory(ROOT)) == []


def test_a_changed_field_is_named_by_resource_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _changed_root(tmp_path)
    assert main(["diff", "--root", str(root), "--against", str(root), "--exit-code"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "~ ConfigMap rhoai-model-registries/model-registration",
        '    data["models.json"].gpt-oss-20b.properties.context_length: 8192 -> 4096',
        "~ InferenceService private-ai/gpt-oss-20b",
        "    spec.predictor.model.args:",
        "      - --max-model-len=8192",
        "      + --max-model-len=4096",
        "0 added, 2 changed, 0 removed",
    ]


def test_added_and_removed_resources() -> None:
    minimal, default = render_named("minimal"), render_named("default")
    text = diff_text(compare(minimal, default))
    assert "+ InferenceService private-ai/devstral-2" in text and "- InferenceService demo/tiny" in text


def test_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _changed_root(tmp_path)
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    git("init", "-q")
    git("add", "gitops")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "tree")
    assert main(["diff", "--root", str(root), "--against", "HEAD", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"name": "gpt-oss-20b"' in out and '"old": "--max-model-len=8192"' not in out
    assert main(["diff", "--root", str(root), "--against", "no-such-rev"]) == 2

"""The semantic diff names resources and fields, against a directory or a git revision."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import pytest

from conftest import DEMO, materialize, render_named
from generator.cli import main
from generator.output.semantic_diff import compare, diff_text, tree_from_directory

CHANGED = ("maxModelLen: 8192", "maxModelLen: 4096")


def _changed_root(tmp_path: Path) -> Path:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text().replace(*CHANGED))
    return tmp_path


def test_same_tree_has_no_changes(tmp_path: Path) -> None:
    assert compare(render_named("default"), tree_from_directory(materialize(render_named("default"), tmp_path))) == []


def test_a_changed_field_is_named_by_resource_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _changed_root(tmp_path)
    assert main(["diff", "--root", str(root), "--against", str(root), "--exit-code"]) == 1
    out = re.sub(r"register-models-[0-9a-f]{8}", "register-models-HASH", capsys.readouterr().out)
    assert out.splitlines() == [
        "~ ConfigMap rhoai-model-registries/model-registration",
        '    data["models.json"].gpt-oss-20b.properties.context_length: 8192 -> 4096',
        "~ Job rhoai-model-registries/register-models-*",
        "    metadata.name: register-models-HASH -> register-models-HASH",
        "~ InferenceService private-ai/gpt-oss-20b",
        "    spec.predictor.model.args:",
        "      - --max-model-len=8192",
        "      + --max-model-len=4096",
        "0 added, 3 changed, 0 removed",
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


def test_a_queue_change_of_a_served_model_is_flagged(tmp_path: Path) -> None:
    """Live lesson: the queue-name label is immutable once Kueue admitted the workload."""
    before = render_named("default")
    after = copy.deepcopy(before)
    service = after["gitops/step-05-llm-on-vllm/base/inference/mistral-3-bf16.yaml"][0]
    service["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = "team-a"
    text = diff_text(compare(before, after))
    assert ("! InferenceService private-ai/mistral-3-bf16: the queue label changes (default -> team-a); Kueue refuses "
            "to change the queue of an admitted workload") in text
    assert "!" not in diff_text(compare(render_named("minimal"), before))

"""The semantic diff names resources and fields, against a directory or a git revision."""

from __future__ import annotations

import copy
import json
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
        '    data["models.json"][gpt-oss-20b].properties.context_length: 8192 -> 4096',
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


def _git_repo_at_demo(tmp_path: Path) -> Path:
    """A repository whose HEAD holds the demo portfolio and its tree."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "portfolio.yaml").write_text(DEMO.read_text())
    materialize(render_named("default"), root)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return root


DOUBLED = ("    nodes: 1\n    quota: {gpus: 4}", "    nodes: 2\n    quota: {gpus: 8}")


def test_a_quota_change_reads_as_a_quota_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _git_repo_at_demo(tmp_path)
    (root / "portfolio.yaml").write_text(DEMO.read_text().replace(*DOUBLED))
    assert main(["diff", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "~ ClusterQueue rhoai-main-queue: nvidia-l4-4gpu nvidia.com/gpu nominalQuota 4 -> 8\n" in out
    assert "coveredResources" not in out and "{" not in out  # not a truncated dump of the whole list


def test_lists_are_compared_by_what_identifies_their_items() -> None:
    before = render_named("default")
    after = copy.deepcopy(before)
    service = after["gitops/step-05-llm-on-vllm/base/inference/mistral-3-bf16.yaml"][0]
    env = service["spec"]["predictor"]["model"]["env"]
    env.insert(0, {"name": "NEW_FIRST", "value": "1"})  # shifts every index, changes one item
    service["spec"]["predictor"]["tolerations"][0]["effect"] = "NoExecute"
    lines = diff_text(compare(before, after)).splitlines()
    assert "    spec.predictor.model.env[NEW_FIRST].value: (none) -> 1" in lines
    assert "    spec.predictor.tolerations[nvidia.com/gpu].effect: NoSchedule -> NoExecute" in lines
    assert not any("env[VLLM_USE_V1]" in line for line in lines)


def test_the_markdown_summary_tells_the_story_against_a_git_revision(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = _git_repo_at_demo(tmp_path)
    text = DEMO.read_text().replace(*DOUBLED)
    text = text.replace("    gpus: 4\n    state: queued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768",
                        "    gpus: 4\n    state: active\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768", 1)
    text = text.replace("      oci: registry.redhat.io/rhelai1/modelcar-mistral-small-24b-instruct-2501-quantized-w4a16:1.5\n", "", 1)
    (root / "portfolio.yaml").write_text(text)
    assert main(["diff", "--root", str(root), "--against", "HEAD", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "## What this change does to the cluster (against HEAD)" in out
    assert "| devstral-2 | switched on | queued -> active |" in out
    assert "| nvidia-l4-4gpu | 4 | 8 |" in out
    assert "| mistral-3-int4 | oci | s3 |" in out
    assert "| devstral-2 | off | admitted on nvidia-l4-4gpu |" in out
    assert "- **resource-handover** FAILS" in out  # devstral-2 is no longer pending at step 1
    assert "~ ClusterQueue rhoai-main-queue: nvidia-l4-4gpu nvidia.com/gpu nominalQuota 4 -> 8" in out


def test_a_renamed_flavor_names_the_hardware_profile_the_models_now_point_at(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text().replace("nvidia-l4-1gpu", "l4-single"))
    assert main(["diff", "--against", str(tmp_path), "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ("! HardwareProfile l4-single: now named by granite-8b-agent, mistral-3-int4 (before: nvidia-l4-1gpu); the "
            "dashboard's object, not this tree's: it must exist before the sync") in out


def test_a_hand_edit_of_the_tree_is_named_not_hidden_behind_no_changes(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text())
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], check=True)
    assert main(["diff", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""  # nothing to say about a tree that matches
    stale = tmp_path / "gitops" / "step-05-llm-on-vllm" / "base" / "inference" / "gpt-oss-20b.yaml"
    stale.write_text(stale.read_text().replace("--max-model-len=8192", "--max-model-len=4096"))
    assert main(["diff", "--root", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "no changes\n" and "gitops/ on disk differs from what the portfolio renders" in captured.err
    assert main(["diff", "--root", str(tmp_path), "--format", "json"]) == 0
    assert any("gitops/ on disk differs" in n for n in json.loads(capsys.readouterr().out)["result"]["notes"])

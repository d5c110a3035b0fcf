"""The default scenarios hold; a false expectation fails with expected versus simulated."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import DEMO, ROOT, load_named, materialize, render_named
from generator.admission.plan import Cluster, plan
from generator.admission.scenarios import run_all
from generator.cli import main
from generator.render import render


@pytest.fixture(scope="module")
def default():
    loaded = load_named("default")
    return loaded.portfolio, render_named("default")


def test_default_scenarios_pass(default) -> None:
    runs = run_all(*default)
    assert [r.scenario.name for r in runs] == ["resource-handover", "efficiency", "priority-queue", "rolling-update"]
    assert all(r.passed for r in runs)


def _flavors(snapshot) -> dict[str, str]:
    return {m.name: f"{m.state}@{m.flavor}" if m.flavor else m.state for m in snapshot.models}


def test_plan_baseline_and_handover(default) -> None:
    assert _flavors(plan(*default)) == {"mistral-3-bf16": "admitted@nvidia-l4-4gpu", "mistral-3-int4": "admitted@nvidia-l4-1gpu",
                                        "devstral-2": "off", "gpt-oss-20b": "off", "granite-8b-agent": "off"}
    waiting = plan(*default, enable=["devstral-2"]).model("devstral-2")
    assert waiting.state == "pending"
    assert waiting.reason.startswith("nvidia.com/gpu in nvidia-l4-4gpu: 4 used of 4, needs 4")
    handed = plan(*default, enable=["devstral-2"], disable=["mistral-3-bf16"])
    assert handed.model("devstral-2").flavor == "nvidia-l4-4gpu"


def test_scenario_two_needs_the_unpinned_one_gpu_model(default) -> None:
    """KUEUE.md: pinned to g6.4xlarge, granite would stay pending; unpinned it lands on the 4-GPU node."""
    portfolio, tree = default
    assert plan(portfolio, tree, disable=["mistral-3-bf16"], enable=["granite-8b-agent"]).model(
        "granite-8b-agent").flavor == "nvidia-l4-4gpu"
    pinned = json.loads(json.dumps(tree))
    service = pinned["gitops/step-05-llm-on-vllm/base/inference/granite-8b-agent.yaml"][0]
    service["spec"]["predictor"]["nodeSelector"] = {"node.kubernetes.io/instance-type": "g6.4xlarge"}
    state = plan(portfolio, pinned, disable=["mistral-3-bf16"], enable=["granite-8b-agent"]).model("granite-8b-agent")
    assert state.state == "pending"
    assert "nvidia-l4-4gpu: nodeSelector node.kubernetes.io/instance-type=g6.4xlarge" in state.reason


def test_enabling_all_five_admits_only_the_baseline_then_the_next_in_order(default) -> None:
    cluster = Cluster(*default)
    snapshot = cluster.apply(enable=["devstral-2", "gpt-oss-20b", "granite-8b-agent"])
    assert [m.name for m in snapshot.models if m.state == "admitted"] == ["mistral-3-bf16", "mistral-3-int4"]
    after = cluster.apply(disable=["mistral-3-bf16"])
    assert [m.name for m in after.models if m.state == "admitted"] == ["mistral-3-int4", "devstral-2"]


def test_rolling_update_deadlocks_and_recreate_avoids_it(default) -> None:
    rolling = Cluster(*default).apply(update=["mistral-3-bf16"], strategy="RollingUpdate")
    assert rolling.model("mistral-3-bf16").state == "pending"
    assert any("rolling update deadlocked" in n for n in rolling.notes)
    recreate = Cluster(*default).apply(update=["mistral-3-bf16"])
    assert recreate.model("mistral-3-bf16").state == "admitted" and recreate.notes == []


def test_rolling_update_with_room_elsewhere_completes(default) -> None:
    cluster = Cluster(*default)
    cluster.apply(disable=["mistral-3-bf16"])
    # The new 1-GPU pod fits on the free 4-GPU flavor; once it runs, the old pod goes.
    snapshot = cluster.apply(update=["mistral-3-int4"], strategy="RollingUpdate")
    assert snapshot.model("mistral-3-int4").flavor == "nvidia-l4-4gpu" and snapshot.notes == []
    assert sum(q.used for q in snapshot.quota if q.resource == "nvidia.com/gpu") == 1


def _false_expectation(tmp_path: Path) -> Path:
    materialize(render_named("default"), tmp_path)
    text = DEMO.read_text()
    old = "          devstral-2: pending\n          mistral-3-bf16: {state: admitted, flavor: nvidia-l4-4gpu}\n"
    assert text.count(old) == 1
    (tmp_path / "portfolio.yaml").write_text(text.replace(old, old.replace("devstral-2: pending", "devstral-2: admitted")))
    return tmp_path


def test_scenarios_command_fails_with_expected_versus_simulated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _false_expectation(tmp_path)
    assert main(["scenarios", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL resource-handover" in out
    assert "devstral-2: expected admitted, simulated pending (nvidia.com/gpu in nvidia-l4-4gpu: 4 used of 4, needs 4" in out
    assert "3 of 4 scenarios passed" in out


def test_a_story_the_simulation_contradicts_stops_build_as_it_fails_validate(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """One verdict: a build that is green locally never turns red in CI; the diagnostic names the command that
    records the new story."""
    root = _false_expectation(tmp_path)
    assert main(["validate", "--root", str(root)]) == 1
    out = capsys.readouterr().err  # diagnostics go to standard error, from every command
    line = next(text for text in out.splitlines() if "[SCN001]" in text)
    assert line.startswith("portfolio.yaml:") or "/portfolio.yaml:" in line.split(": error")[0]
    assert "scenarios[0].steps[0].expect.devstral-2: scenario 'resource-handover', step 1" in line
    assert "scenarios --accept` records it" in line
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert main(["build", "--root", str(root)]) == 1
    assert "error [SCN001] scenarios[0].steps[0].expect.devstral-2" in capsys.readouterr().err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written


def test_plan_cli_text_and_json() -> None:
    text = subprocess.run([sys.executable, "-m", "generator", "plan", "--enable", "devstral-2", "--portfolio", str(DEMO)], capture_output=True,
                          text=True, cwd=ROOT, check=True).stdout
    assert "devstral-2           4  pending" in text and "GPUs admitted: 5 of 5 (asked for: 9)" in text
    data = json.loads(subprocess.run([sys.executable, "-m", "generator", "plan", "--format", "json", "--portfolio", str(DEMO)], capture_output=True,
                                     text=True, cwd=ROOT, check=True).stdout)
    gpu = [q for q in data["result"]["quota"] if q["resource"] == "nvidia.com/gpu"]
    assert gpu == [{"queue": "rhoai-main-queue", "flavor": "nvidia-l4-1gpu", "resource": "nvidia.com/gpu", "used": "1", "nominal": "1"},
                   {"queue": "rhoai-main-queue", "flavor": "nvidia-l4-4gpu", "resource": "nvidia.com/gpu", "used": "4", "nominal": "4"}]


def test_plan_rejects_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--portfolio", str(DEMO), "--enable", "llama-9000"]) == 2
    assert "unknown model 'llama-9000'" in capsys.readouterr().err


def test_runbook_scenario_markdown_and_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", "resource-handover", "--portfolio", str(DEMO)]) == 0
    markdown = capsys.readouterr().out
    assert "python -m generator set-state devstral-2=active" in markdown
    assert "git commit -m 'scenario resource-handover, step 1: Enable Devstral-2 while the 4-GPU node is busy'" in markdown
    assert 'git revert --no-edit "$SCENARIO_START"..HEAD' in markdown
    assert "oc scale" not in markdown
    assert "devstral-2: pending (nvidia.com/gpu in nvidia-l4-4gpu: 4 used of 4, needs 4" in markdown
    assert "## Scenario: efficiency" not in markdown
    target = tmp_path / "runbook.ipynb"
    assert main(["runbook", "--format", "notebook", "--portfolio", str(DEMO), "-o", str(target)]) == 0
    notebook = nbformat.read(target, as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "\npython -m generator set-state mistral-3-bf16=queued\n" in code
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert "register_cell_magic" in code_cells[0].source  # the first code cell sets up the shared shell
    assert all(c.source.startswith("%%runbook\nset -euo pipefail\n") for c in code_cells[1:])
    assert main(["runbook", "no-such-scenario", "--portfolio", str(DEMO)]) == 2


def test_priority_classes_are_rendered_and_decide_preemption() -> None:
    loaded = load_named("tiers")
    tree = render(loaded.portfolio)
    classes = tree["gitops/tiers-demo/base/kueue/priority-classes.yaml"]
    assert [(c["kind"], c["metadata"]["name"], c["value"]) for c in classes] == [
        ("WorkloadPriorityClass", "production", 1000), ("WorkloadPriorityClass", "experiments", 10)]
    twin = tree["gitops/tiers-demo/base/inference/large-twin.yaml"][0]
    assert twin["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] == "production"
    # large-twin (production) preempts large-hf (experiments) on the only 2-GPU flavor.
    snapshot = plan(loaded.portfolio, tree, enable=["large-twin"])
    assert snapshot.model("large-twin").flavor == "a10-2"
    hf = snapshot.model("large-hf")
    assert hf.state == "preempted" and hf.reason.startswith("preempted by large-twin")


def test_default_scenarios_also_hold_under_the_older_union_selector_rule(default) -> None:
    """Unpinned 1-GPU models carry no selector, so older Kueue releases place them the same way."""
    assert all(r.passed for r in run_all(*default, selector_rule="union"))
    portfolio, tree = default
    pinned = json.loads(json.dumps(tree))
    service = pinned["gitops/step-05-llm-on-vllm/base/inference/granite-8b-agent.yaml"][0]
    service["spec"]["predictor"]["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
    # A key no flavor labels (every GPU node carries it): neither rule excludes a flavor.
    for rule in ("current", "union"):
        state = plan(portfolio, pinned, disable=["mistral-3-bf16"], enable=["granite-8b-agent"], selector_rule=rule)
        assert state.model("granite-8b-agent").flavor == "nvidia-l4-4gpu"


def test_a_cpu_only_pod_of_the_namespace_never_gets_a_gpu_flavor(default) -> None:
    """Live lesson: with GPU flavors only, Kueue gives CPU-only pods a GPU flavor and pins them to GPU nodes."""
    from decimal import Decimal

    from generator.admission.kueue import Workload, simulate
    from generator.admission.plan import kueue_objects

    objects = kueue_objects(default[1])
    workbench = Workload(name="workbench", cluster_queue="rhoai-main-queue",
                         requests={"cpu": Decimal(2), "memory": Decimal(8 << 30)})
    result = simulate(flavors=objects.flavors, cluster_queues=objects.cluster_queues, workloads=[workbench])
    assert result.outcomes["workbench"].flavors == {"cpu": "default-flavor", "memory": "default-flavor"}
    # The original's single group covering GPUs, cpu and memory with GPU flavors only: a GPU flavor, a GPU node.
    [queue] = json.loads(json.dumps(objects.cluster_queues))
    queue["spec"]["resourceGroups"] = [{"coveredResources": ["nvidia.com/gpu", "cpu", "memory"], "flavors": [
        {"name": "nvidia-l4-1gpu", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "1"},
                                                 {"name": "cpu", "nominalQuota": "16"}, {"name": "memory", "nominalQuota": "64Gi"}]}]}]
    gpu_node = simulate(flavors=objects.flavors, cluster_queues=[queue], workloads=[workbench])
    assert gpu_node.outcomes["workbench"].flavors == {"cpu": "nvidia-l4-1gpu", "memory": "nvidia-l4-1gpu"}


def test_doubling_a_quota_without_nodes_warns_and_plan_says_no_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Kueue admits by quota; the scheduler then needs a node."""
    text = DEMO.read_text(encoding="utf-8")
    doubled = text.replace("    quota: {gpus: 4}", "    quota: {gpus: 8}")
    assert doubled != text
    (tmp_path / "portfolio.yaml").write_text(doubled, encoding="utf-8")
    line = next(i for i, row in enumerate(doubled.splitlines(), start=1) if row == "    quota: {gpus: 8}")
    assert main(["plan", "--portfolio", str(tmp_path / "portfolio.yaml"), "--enable", "devstral-2"]) == 0
    captured = capsys.readouterr()
    assert ("devstral-2           4  unschedulable  nvidia-l4-4gpu  admitted by Kueue, unschedulable: no node of "
            "nvidia-l4-4gpu has 4 free nvidia.com/gpu") in captured.out
    assert (f"portfolio.yaml:{line}:19: warning [PF014] flavors[1].quota.gpus: a quota of 8 GPUs is more than the "
            "flavor's nodes hold (1 x 4 = 4)") in captured.err
    # A second node makes room: the same request runs.
    two_nodes = doubled.replace("    nodes: 1\n    quota: {gpus: 8}", "    nodes: 2\n    quota: {gpus: 8}")
    (tmp_path / "portfolio.yaml").write_text(two_nodes, encoding="utf-8")
    assert main(["plan", "--portfolio", str(tmp_path / "portfolio.yaml"), "--enable", "devstral-2"]) == 0
    assert re.search(r"\ndevstral-2 +4 +admitted +nvidia-l4-4gpu\n", capsys.readouterr().out)


def test_placed_pods_stay_on_their_node_and_a_freed_node_takes_the_waiting_one(default) -> None:
    portfolio, tree = default
    cluster = Cluster(portfolio, tree)
    assert cluster.snapshot().model("mistral-3-bf16").node == "nvidia-l4-4gpu-1"
    after = cluster.apply(disable=["mistral-3-int4"], enable=["granite-8b-agent"])
    assert after.model("granite-8b-agent").node == "nvidia-l4-1gpu-1"
    assert after.model("mistral-3-bf16").node == "nvidia-l4-4gpu-1"

"""Teams: a namespace, a ClusterQueue in one cohort and a LocalQueue each, hardware profiles that queue, and the
simulator lending and reclaiming GPUs between them (the 20-team example, valid/teams)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import MINIMAL_TEXT, load_named, load_text, portfolio_path, replace_once
from generator.admission.plan import plan
from generator.admission.scenarios import run_all
from generator.model.quantity import parse_quantity
from generator.render import render
from generator.render.common import Tree

GPU = "nvidia.com/gpu"


def documents(tree: Tree, kind: str) -> list[dict[str, Any]]:
    return [d for docs in tree.values() for d in docs if d.get("kind") == kind]


@pytest.fixture(scope="module")
def teams_tree() -> Tree:
    return render(load_named("teams").portfolio)


def test_each_team_has_a_kueue_managed_namespace_that_a_prune_never_deletes(teams_tree: Tree) -> None:
    namespaces = documents(teams_tree, "Namespace")
    assert [n["metadata"]["name"] for n in namespaces] == [f"team-{t:02d}" for t in range(1, 21)]
    for namespace in namespaces:
        assert namespace["metadata"]["labels"]["kueue.openshift.io/managed"] == "true"
        assert namespace["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false"


def test_a_cluster_queue_per_team_in_its_organisation_and_a_local_queue_in_its_namespace(teams_tree: Tree) -> None:
    queues = documents(teams_tree, "ClusterQueue")
    assert {q["metadata"]["name"]: q["spec"]["cohort"] for q in queues} == {
        f"team-{t:02d}": "research" if t <= 10 else "product" for t in range(1, 21)}
    local = {(q["metadata"]["namespace"], q["metadata"]["name"]): q["spec"]["clusterQueue"]
             for q in documents(teams_tree, "LocalQueue")}
    assert local == {(f"team-{t:02d}", "default"): f"team-{t:02d}" for t in range(1, 21)}
    for service in documents(teams_tree, "InferenceService"):
        namespace = service["metadata"]["namespace"]
        assert local[(namespace, service["metadata"]["labels"]["kueue.x-k8s.io/queue-name"])] == namespace
    runtimes = {r["metadata"]["namespace"] for r in documents(teams_tree, "ServingRuntime")}
    assert runtimes == {f"team-{t:02d}" for t in range(1, 21)}  # a ServingRuntime is namespaced


def test_the_teams_cpu_quotas_add_up_to_the_nodes(teams_tree: Tree) -> None:
    portfolio = load_named("teams").portfolio
    total = sum((parse_quantity(f.cpu_per_node) * f.nodes for f in portfolio.flavors), Decimal(0))
    holders = documents(teams_tree, "ClusterQueue") + documents(teams_tree, "Cohort")  # product's pool node too
    cpu = [r for q in holders for g in q["spec"].get("resourceGroups", [])
           for f in g["flavors"] for r in f["resources"] if r["name"] == "cpu"]
    assert sum((parse_quantity(r["nominalQuota"]) for r in cpu), Decimal(0)) == total


def test_hardware_profiles_queue_and_leave_placement_to_the_flavor(teams_tree: Tree) -> None:
    profiles = documents(teams_tree, "HardwareProfile")
    assert [p["metadata"]["name"] for p in profiles] == ["nvidia-l4-1gpu", "nvidia-l4-4gpu"]
    for profile in profiles:
        assert profile["spec"]["scheduling"] == {"type": "Queue", "kueue": {"localQueueName": "default"}}
        assert "node" not in profile["spec"]["scheduling"]
    # every InferenceService names a profile the tree holds
    names = {p["metadata"]["name"] for p in profiles}
    assert {s["metadata"]["annotations"]["opendatahub.io/hardware-profile-name"]
            for s in documents(teams_tree, "InferenceService")} <= names


def test_the_single_namespace_tree_has_no_team_objects() -> None:
    tree = render(load_named("default").portfolio)
    assert documents(tree, "Namespace") == [] and documents(tree, "HardwareProfile") == []
    [queue] = documents(tree, "ClusterQueue")
    assert "cohort" not in queue["spec"]


TWO_TEAMS = ("teams:\n  - name: a\n    quota: [{flavor: gpu-small, gpus: 2, lendingLimit: 1}]\n"
             "  - name: b\n    quota: [{flavor: gpu-small, gpus: 2, borrowingLimit: 1}]\nmodels:\n")


def two_teams(tmp_path: Path, models: list[tuple[str, str, str]]) -> Any:
    """Flavor gpu-small: 4 nodes, quota 4; team a lends 1 of its 2; team b may borrow 1."""
    text = replace_once(MINIMAL_TEXT, "    quota: {gpus: 1}\n", "    nodes: 4\n    quota: {gpus: 4}\n")
    text = replace_once(text, "models:\n", TWO_TEAMS)
    head, model = text.split("  - name: tiny\n")
    body = "".join(f"  - name: {name}\n" + model.replace("state: active", f"state: {state}") + f"    team: {team}\n"
                   for name, team, state in models)
    return load_text(tmp_path, head + body)


def test_limits_render_and_bound_what_a_team_borrows(tmp_path: Path) -> None:
    loaded = two_teams(tmp_path, [(f"b-{i}", "b", "active") for i in range(4)])
    queues = {q["metadata"]["name"]: q for q in documents(loaded.tree, "ClusterQueue")}
    gpu_a = queues["a"]["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]
    gpu_b = queues["b"]["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]
    assert gpu_a == {"name": GPU, "nominalQuota": "2", "lendingLimit": "1"}
    assert gpu_b == {"name": GPU, "nominalQuota": "2", "borrowingLimit": "1"}
    states = {m.name: m.state for m in plan(loaded.portfolio, loaded.tree).models}
    # b's own 2 and the 1 GPU a lends: the fourth waits although a's second GPU is idle
    assert states == {"b-0": "admitted", "b-1": "admitted", "b-2": "admitted", "b-3": "pending"}


def test_a_team_within_its_quota_reclaims_what_it_lent(tmp_path: Path) -> None:
    loaded = two_teams(tmp_path, [("b-0", "b", "active"), ("b-1", "b", "active"), ("b-2", "b", "active"),
                                  ("a-0", "a", "queued"), ("a-1", "a", "queued")])
    snapshot = plan(loaded.portfolio, loaded.tree, enable=["a-0", "a-1"])
    states = {m.name: m.state for m in snapshot.models}
    assert states == {"b-0": "admitted", "b-1": "admitted", "b-2": "preempted", "a-0": "admitted", "a-1": "admitted"}
    assert snapshot.model("b-2").reason.startswith("preempted by a-")


def test_the_organisations_are_cohorts_under_the_root_with_quota_limits_and_weights(teams_tree: Tree) -> None:
    cohorts = {c["metadata"]["name"]: c for c in documents(teams_tree, "Cohort")}
    assert {c["apiVersion"] for c in cohorts.values()} == {"kueue.x-k8s.io/v1beta2"}
    assert cohorts["research"]["spec"] == {
        "parentName": "gpuaas",
        "resourceGroups": [{"coveredResources": [GPU], "flavors": [
            {"name": "nvidia-l4-4gpu", "resources": [{"name": GPU, "nominalQuota": "0", "lendingLimit": "4"}]}]}],
        "fairSharing": {"weight": "2"}}
    cpu_group, gpu_group = cohorts["product"]["spec"]["resourceGroups"]
    assert gpu_group["flavors"][0]["resources"] == [{"name": GPU, "nominalQuota": "4", "lendingLimit": "4"}]
    assert cpu_group["flavors"] == [{"name": "default-flavor", "resources": [
        {"name": "cpu", "nominalQuota": "48"}, {"name": "memory", "nominalQuota": "192Gi"}]}]  # its node's
    assert "fairSharing" not in cohorts["product"]["spec"]
    # the application controller may manage them, and the platform's AppProject allows them (no team's does)
    roles = documents(teams_tree, "ClusterRole")
    assert any("cohorts" in rule["resources"] for role in roles for rule in role["rules"])
    projects = {p["metadata"]["name"]: p for p in documents(teams_tree, "AppProject")}
    cohort = {"group": "kueue.x-k8s.io", "kind": "Cohort"}
    assert cohort in projects.pop("gpuaas-portfolio")["spec"]["clusterResourceWhitelist"]
    assert len(projects) == 20 and not [p for p in projects.values() if cohort in p["spec"]["clusterResourceWhitelist"]]


def test_the_twenty_team_example_reclaims_across_organisations() -> None:
    loaded = load_named("teams")
    [run] = run_all(loaded.portfolio, loaded.tree)
    assert run.passed, [m for s in run.steps for m in s.mismatches]
    baseline = run.baseline
    # research lends team-01's idle GPUs (at most 4) to product: team-11 borrows them, team-12 uses product's pool
    assert baseline.model("team-11-batch").state == "admitted" and baseline.model("team-12-batch").state == "admitted"
    reclaimed = run.steps[0].snapshot
    assert reclaimed.model("team-11-batch").reason.startswith("preempted by team-01-chat")
    # every 4-GPU node runs one model, none runs two
    nodes = [m.node for m in reclaimed.models if m.state == "admitted"]
    assert len(nodes) == 21 and len(set(nodes)) == 21
    tree = {c.cohort: c for c in reclaimed.cohorts if c.flavor == "nvidia-l4-4gpu"}
    assert (tree["research"].used, tree["product"].used, tree["gpuaas"].used) == (40, 44, 84)
    assert (tree["research"].subtree, tree["product"].subtree) == (40, 44)
    # the root shares only what the organisations lend it; it holds every quota under it
    assert (tree["gpuaas"].subtree, tree["gpuaas"].holds, tree["product"].holds) == (8, 84, 44)


def test_without_fair_sharing_classical_preemption_reclaims_the_same_borrower(tmp_path: Path) -> None:
    text = portfolio_path("teams").read_text(encoding="utf-8").replace("  fairSharing: true\n", "")
    text = text.replace("  weight: 2\n", "")
    loaded = load_text(tmp_path, text)
    assert not loaded.portfolio.kueue.fair_sharing
    [run] = run_all(loaded.portfolio, loaded.tree)
    assert run.passed, [m for s in run.steps for m in s.mismatches]
    assert run.steps[0].snapshot.model("team-11-batch").reason.startswith("preempted by team-01-chat")

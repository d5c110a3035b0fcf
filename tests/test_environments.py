"""Environments: one kustomize overlay and one Argo CD Application per cluster; plan and scenarios per cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PORTFOLIOS, kustomize, load_named, load_text, materialize, problems_in, replace_once
from generator.admission.plan import plan
from generator.cli import main
from generator.model.environments import environment_named, environment_portfolio
from generator.render import render, render_serving
from generator.render.overlays import json_patch, overlay

BASE = "gitops/step-05-llm-on-vllm/base"
ENVS = PORTFOLIOS / "valid" / "environments" / "portfolio.yaml"


def _by_key(documents: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in documents
            if d.get("kind") != "Kustomization"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_overlay_built_by_kustomize_is_the_environments_own_tree(kubectl: str, tmp_path: Path, env: str) -> None:
    loaded = load_named("environments")
    root = materialize(loaded.tree, tmp_path)
    built = kustomize(kubectl, root / f"gitops/step-05-llm-on-vllm/overlays/{env}")
    assert built.returncode == 0, built.stderr
    environment = environment_named(loaded.portfolio, env)
    assert environment is not None
    expected = render_serving(environment_portfolio(loaded.portfolio, environment))
    # kustomize's output is the environment's rendered tree, document for document
    assert _by_key(list(yaml.safe_load_all(built.stdout))) == _by_key([d for docs in expected.values() for d in docs])


def test_dev_patches_only_what_differs_and_prod_nothing() -> None:
    tree = load_named("environments").tree
    [dev] = tree["gitops/step-05-llm-on-vllm/overlays/dev/kustomization.yaml"]
    [prod] = tree["gitops/step-05-llm-on-vllm/overlays/prod/kustomization.yaml"]
    assert prod == {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["../../base"]}
    targets = sorted(f"{p['target']['kind']}/{p['target']['name']}" for p in dev["patches"])
    # the 4-GPU flavor has no node and no quota on dev, and only the INT4 Mistral runs there
    assert targets == ["ClusterQueue/rhoai-main-queue", "InferenceService/mistral-3-bf16"]


def test_one_application_per_environment_and_a_project_for_each_cluster() -> None:
    tree = load_named("environments").tree
    apps = {d["metadata"]["name"]: d for path, docs in tree.items() if "/app-of-apps/" in path for d in docs
            if d["kind"] == "Application"}
    assert {name: (a["spec"]["source"]["path"], a["spec"]["destination"]["server"]) for name, a in apps.items()} == {
        "step-05-llm-on-vllm-dev": ("gitops/step-05-llm-on-vllm/overlays/dev", "https://api.dev.example.com:6443"),
        "step-05-llm-on-vllm-prod": ("gitops/step-05-llm-on-vllm/overlays/prod", "https://api.prod.example.com:6443"),
    }
    [project] = tree["gitops/argocd/bootstrap/app-project.yaml"]
    servers = {d["server"] for d in project["spec"]["destinations"]}
    assert {"https://api.dev.example.com:6443", "https://api.prod.example.com:6443"} <= servers


def test_plan_and_scenarios_per_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--portfolio", str(ENVS), "--env", "dev", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert {m["name"]: m["state"] for m in result["models"] if m["state"] != "off"} == {"mistral-3-int4": "admitted"}
    gpu = {q["flavor"]: q["nominal"] for q in result["quota"] if q["resource"] == "nvidia.com/gpu"}
    assert gpu == {"nvidia-l4-1gpu": "1", "nvidia-l4-4gpu": "0"}
    # the demo's stories need the 4-GPU node: they hold on prod, not on dev
    assert main(["scenarios", "--portfolio", str(ENVS), "--env", "prod"]) == 0
    assert main(["scenarios", "--portfolio", str(ENVS), "--env", "dev"]) == 1
    capsys.readouterr()
    assert main(["plan", "--portfolio", str(ENVS), "--env", "qa"]) == 2
    assert "unknown environment 'qa'; environments: dev, prod" in capsys.readouterr().err


def test_a_problem_only_an_environment_has_is_reported_at_its_entry(tmp_path: Path) -> None:
    text = ENVS.read_text(encoding="utf-8")
    text = replace_once(text, "    active: [mistral-3-int4]\n", "    active: [mistral-3-int4, mistral-3-bf16]\n")
    loaded = load_text(tmp_path, text)
    [warning] = [w for w in loaded.warnings if "environment dev" in w.message]
    assert warning.rule == "PF005" and warning.path == "environments[0]" and "mistral-3-bf16" in warning.message
    assert plan(loaded.portfolio, loaded.tree).model("mistral-3-bf16").state == "admitted"  # the base is untouched


def test_an_environment_names_only_what_the_portfolio_declares(tmp_path: Path) -> None:
    text = replace_once(ENVS.read_text(encoding="utf-8"), "      nvidia-l4-4gpu: {nodes: 0, gpus: 0}\n",
                        "      nvidia-l4-8gpu: {nodes: 0, gpus: 0}\n")
    [problem] = problems_in(tmp_path, text)
    assert problem.rule == "PF018" and problem.path == 'environments[0].flavors.nvidia-l4-8gpu'
    assert "unknown flavor 'nvidia-l4-8gpu'" in problem.message and problem.line > 0


def test_json_patch_escapes_and_keeps_order() -> None:
    old = {"metadata": {"annotations": {"a/b": "1", "c~d": "x", "gone": "y"}}, "spec": {"items": [1, 2], "n": 1}}
    new = {"metadata": {"annotations": {"a/b": "2", "c~d": "x", "new": "z"}}, "spec": {"items": [1, 2, 3], "n": 1}}
    assert json_patch(old, new) == [
        {"op": "remove", "path": "/metadata/annotations/gone"},
        {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "2"},
        {"op": "add", "path": "/metadata/annotations/new", "value": "z"},
        {"op": "replace", "path": "/spec/items", "value": [1, 2, 3]},
    ]


def test_documents_an_environment_adds_or_drops_build_with_kustomize(kubectl: str, tmp_path: Path) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}}
    other = {**config, "metadata": {"name": "b", "namespace": "n"}}
    base = {f"{BASE}/x.yaml": [config, other],
            f"{BASE}/kustomization.yaml": [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                            "resources": ["x.yaml"]}]}
    added = {**config, "metadata": {"name": "c", "namespace": "n"}}
    env = {f"{BASE}/x.yaml": [{**config, "data": {"k": "w"}}, added]}
    kustomization, extra = overlay(base, env, base_dir="../../base")
    tree = {**base, "gitops/step-05-llm-on-vllm/overlays/e/kustomization.yaml": [kustomization],
            "gitops/step-05-llm-on-vllm/overlays/e/added.yaml": extra}
    root = materialize(tree, tmp_path)
    built = kustomize(kubectl, root / "gitops/step-05-llm-on-vllm/overlays/e")
    assert built.returncode == 0, built.stderr
    assert {d["metadata"]["name"]: d["data"]["k"] for d in yaml.safe_load_all(built.stdout)} == {"a": "w", "c": "v"}


def test_without_environments_the_base_is_deployed_as_before() -> None:
    tree = render(load_named("default").portfolio)
    assert not any("/overlays/" in path for path in tree)
    assert "gitops/argocd/app-of-apps/step-05-llm-on-vllm.yaml" in tree

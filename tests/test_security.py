"""Pods under the restricted Pod Security Standard, Jobs without API tokens, an AppProject of exactly this
tree, and models nobody may call without a token of an allowed caller."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import DEMO, VALID, load_named, load_text, render_named
from generator.checks.lint import lint_tree
from generator.render.common import Tree

BASE = "gitops/step-05-llm-on-vllm/base"
ISVC = f"{BASE}/inference/mistral-3-bf16.yaml"
RUNTIME = f"{BASE}/serving-runtime/vllm-runtime.yaml"
REGISTRATION = f"{BASE}/model-registration/register-models.yaml"
PROJECT = "gitops/argocd/bootstrap/app-project.yaml"
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def of_kind(tree: Tree, kind: str) -> list[dict[str, Any]]:
    return [d for docs in tree.values() for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("name", ["default", *VALID])
def test_every_pod_the_tree_makes_is_restricted(name: str) -> None:
    tree = render_named(name)
    for service in of_kind(tree, "InferenceService"):
        predictor = service["spec"]["predictor"]
        assert predictor["securityContext"] == RESTRICTED_POD
        assert predictor["model"]["securityContext"] == RESTRICTED_CONTAINER
    for runtime in of_kind(tree, "ServingRuntime"):
        assert [c["securityContext"] for c in runtime["spec"]["containers"]] == [RESTRICTED_CONTAINER]
    for job in of_kind(tree, "Job"):
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"] == RESTRICTED_POD
        assert [c["securityContext"] for c in pod["containers"]] == [RESTRICTED_CONTAINER]
    assert [p for p in lint_tree(tree) if p.rule.startswith("SEC")] == []


@pytest.mark.parametrize("name", ["default", *VALID])
def test_jobs_run_under_their_own_account_without_a_token(name: str) -> None:
    tree = render_named(name)
    accounts = {(a["metadata"]["namespace"], a["metadata"]["name"]): a for a in of_kind(tree, "ServiceAccount")}
    for job in of_kind(tree, "Job"):
        pod = job["spec"]["template"]["spec"]
        account = accounts[(job["metadata"]["namespace"], pod["serviceAccountName"])]
        assert pod["serviceAccountName"] != "default"
        assert pod["automountServiceAccountToken"] is False and account["automountServiceAccountToken"] is False


def test_the_app_project_allows_exactly_this_tree() -> None:
    tree = render_named("default")
    [project] = of_kind(tree, "AppProject")
    spec = project["spec"]
    assert project["metadata"]["name"] == "gpuaas-portfolio"
    assert spec["sourceRepos"] == ["https://github.com/example-org/gpuaas-portfolio.git"]
    assert [d["namespace"] for d in spec["destinations"]] == ["minio-storage", "openshift-gitops", "private-ai",
                                                              "rhoai-model-registries"]
    assert spec["clusterResourceWhitelist"] == [{"group": "kueue.x-k8s.io", "kind": "ClusterQueue"},
                                                {"group": "kueue.x-k8s.io", "kind": "ResourceFlavor"}]
    serving = {(d["apiVersion"].rpartition("/")[0], d["kind"]) for path, docs in tree.items()
               if path.startswith(BASE) for d in docs if d["kind"] != "Kustomization" and d["metadata"].get("namespace")}
    assert {(w["group"], w["kind"]) for w in spec["namespaceResourceWhitelist"]} == serving | {("argoproj.io", "Application")}
    assert {a["spec"]["project"] for a in of_kind(tree, "Application")} == {"gpuaas-portfolio"}
    assert "*" not in json.dumps(spec)


# Lints, each with a failing case: the generator never emits these, so a regression (or a hand edit) is caught.
def _broken(change: Any) -> Tree:
    tree = copy.deepcopy(render_named("default"))
    change(tree)
    return tree


LINT_CASES = {
    "predictor pod": ("SEC002", lambda t: t[ISVC][0]["spec"]["predictor"].pop("securityContext"), ISVC,
                      "spec.predictor.securityContext"),
    "model container": ("SEC002", lambda t: t[ISVC][0]["spec"]["predictor"]["model"]["securityContext"].update(
        allowPrivilegeEscalation=True), ISVC, "spec.predictor.model.securityContext"),
    "runtime container": ("SEC002", lambda t: t[RUNTIME][0]["spec"]["containers"][0]["securityContext"]["capabilities"].update(
        drop=[]), RUNTIME, "spec.containers[0].securityContext"),
    "job on the default account": ("SEC003", lambda t: t[REGISTRATION][0]["spec"]["template"]["spec"].pop("serviceAccountName"),
                                   REGISTRATION, "spec.template.spec"),
    "job with a token": ("SEC003", lambda t: t[REGISTRATION][0]["spec"]["template"]["spec"].update(
        automountServiceAccountToken=True), REGISTRATION, "spec.template.spec"),
    "default project": ("SEC004", lambda t: t["gitops/argocd/app-of-apps/step-05-llm-on-vllm.yaml"][0]["spec"].update(
        project="default"), "gitops/argocd/app-of-apps/step-05-llm-on-vllm.yaml", "spec.project"),
    "wildcard destination": ("SEC004", lambda t: t[PROJECT][0]["spec"]["destinations"].append(
        {"server": "*", "namespace": "*"}), PROJECT, "spec.destinations[4]"),
}


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_each_security_lint_fails_its_case(case: str) -> None:
    rule, change, file, path = LINT_CASES[case]
    found = [(p.rule, p.file, p.path) for p in lint_tree(_broken(change))]
    assert found == [(rule, file, tuple(_parts(path)))]


def _parts(dotted: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in dotted.split("."):
        name, _, index = piece.partition("[")
        parts.append(name)
        if index:
            parts.append(int(index.rstrip("]")))
    return parts


def test_exposed_models_require_a_token_of_their_callers() -> None:
    tree = render_named("default")
    for service in of_kind(tree, "InferenceService"):
        meta = service["metadata"]
        assert meta["annotations"]["security.opendatahub.io/enable-auth"] == "true"
        assert meta["labels"]["networking.kserve.io/visibility"] == "exposed"
    roles = {r["metadata"]["name"]: r for r in of_kind(tree, "Role")}
    bindings = {b["metadata"]["name"]: b for b in of_kind(tree, "RoleBinding")}
    for model in ("mistral-3-bf16", "mistral-3-int4", "devstral-2", "gpt-oss-20b", "granite-8b-agent"):
        assert roles[f"{model}-caller"]["rules"] == [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                                                      "resourceNames": [model], "verbs": ["get"]}]
        binding = bindings[f"{model}-callers"]
        assert binding["roleRef"]["name"] == f"{model}-caller"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "model-client", "namespace": "private-ai"}]
    assert sorted((a["metadata"]["name"], a["metadata"]["namespace"]) for a in of_kind(tree, "ServiceAccount")
                  if a["metadata"]["namespace"] == "private-ai") == [("model-client", "private-ai"), ("model-server", "private-ai")]


def test_internal_and_open_models(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace("    precision: FP8 dynamic\n", "    precision: FP8 dynamic\n    exposure: internal\n    callers: [agents]\n")
    text = text.replace("    precision: INT4 W4A16\n", "    precision: INT4 W4A16\n    auth: false\n")
    loaded = load_text(tmp_path, text)
    tree = loaded.tree
    granite = tree[f"{BASE}/inference/granite-8b-agent.yaml"][0]["metadata"]
    assert "networking.kserve.io/visibility" not in granite["labels"]  # no Route: inside the cluster only
    assert tree[f"{BASE}/model-access/granite-8b-agent.yaml"][1]["subjects"][0]["name"] == "agents"
    int4 = tree[f"{BASE}/inference/mistral-3-int4.yaml"][0]["metadata"]
    assert int4["annotations"]["security.opendatahub.io/enable-auth"] == "false"
    assert f"{BASE}/model-access/mistral-3-int4.yaml" not in tree
    [warning] = [w for w in loaded.warnings if w.rule == "SEC005"]
    assert warning.path == "models[1].auth" and warning.severity == "warning"


def test_smoke_test_sends_a_callers_token_and_checks_a_refusal() -> None:
    from generator.admission.scenarios import run_all
    from generator.runbook import build_runbook

    loaded = load_named("default")
    [smoke] = build_runbook(loaded.portfolio, loaded.tree, run_all(loaded.portfolio, loaded.tree), only="smoke-test")
    lines = [c.line for b in smoke.blocks for c in b.commands]
    assert "MISTRAL_3_BF16_TOKEN=$(oc create token model-client -n private-ai --duration=10m)" in lines
    asks = [line for line in lines if line.startswith("curl -sSk --fail")]
    assert asks and all('-H "Authorization: Bearer $' in line for line in asks)
    assert sum("-w '%{http_code}'" in line for line in lines) == 5


@pytest.mark.parametrize("name", ["default", *VALID])
def test_predictors_run_as_the_model_server_account_of_their_namespace(name: str) -> None:
    loaded = load_named(name)
    accounts = {(a["metadata"]["namespace"], a["metadata"]["name"]): a for a in of_kind(loaded.tree, "ServiceAccount")}
    services = of_kind(loaded.tree, "InferenceService")
    auth = {m.name: m.auth for m in loaded.portfolio.models}
    for service in services:
        predictor = service["spec"]["predictor"]
        account = accounts[(service["metadata"]["namespace"], predictor["serviceAccountName"])]
        assert predictor["serviceAccountName"] == "model-server" and account["automountServiceAccountToken"] is False
        # with auth, OpenShift AI's KServe mounts the token for its kube-rbac-proxy whatever the field says: said as it is
        assert predictor["automountServiceAccountToken"] is auth[service["metadata"]["name"]]
    namespaces = {s["metadata"]["namespace"] for s in services}
    assert len([a for a in accounts if a[1] == "model-server"]) == len(namespaces)  # one per namespace, not per model


def test_a_model_without_auth_mounts_no_token_unless_it_asks(tmp_path: Path) -> None:
    for extra, mounted in [("    auth: false\n", False), ("    auth: false\n    serviceAccountToken: true\n", True)]:
        loaded = load_text(tmp_path, (DEMO.parent.parent / "minimal" / "portfolio.yaml").read_text() + extra)
        [service] = of_kind(loaded.tree, "InferenceService")
        assert service["spec"]["predictor"]["automountServiceAccountToken"] is mounted


@pytest.mark.parametrize(("change", "rule"), [
    (lambda p: p.pop("serviceAccountName"), "SEC003"),
    (lambda p: p.__setitem__("serviceAccountName", "default"), "SEC003"),
    (lambda p: p.pop("automountServiceAccountToken"), "SEC003"),
    (lambda p: p["model"]["resources"]["limits"].pop("memory"), "SEC007"),
    (lambda p: p["model"].pop("resources"), "SEC007"),
])
def test_a_predictor_on_the_default_account_or_without_limits_is_refused(change: Any, rule: str) -> None:
    tree = copy.deepcopy(render_named("default"))
    change(tree[ISVC][0]["spec"]["predictor"])
    found = [p for p in lint_tree(tree) if p.rule.startswith("SEC")]
    assert [(p.file, p.rule) for p in found] == [(ISVC, rule)]


def test_the_runtime_container_sets_no_resources_of_its_own() -> None:
    """The documented reason (README, "Guarantees"): KServe merges each model's resources into the runtime's container,
    which serves models of every size; SEC007 holds that every model states its own."""
    for runtime in of_kind(render_named("default"), "ServingRuntime"):
        assert "resources" not in runtime["spec"]["containers"][0]

"""Each cross-field rule passes on a near miss; its failing case lives in fixtures/portfolios/invalid/."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import MINIMAL_TEXT, load_named, load_text, problems_in, replace_once
from generator.admission.checks import baseline_problems
from generator.admission.plan import plan
from generator.checks import rules

SECOND_MODEL = MINIMAL_TEXT[MINIMAL_TEXT.index("  - name: tiny"):]


HF_WEIGHTS = ("      oci: quay.io/example/modelcar-tiny:1.0", "      huggingFace: Org/Tiny")


def _with_second(name: str, *, base: str = MINIMAL_TEXT, model: str = SECOND_MODEL) -> str:
    return base + model.replace("name: tiny", f"name: {name}").replace("state: active", "state: queued")


TEAMS = ("teams:\n  - name: search\n    quota: [{flavor: gpu-small, gpus: 1, lendingLimit: 1}]\n"
         "  - name: chat\n    namespace: chat-models\nmodels:\n")

# A cohort tree as close to every cohort rule as it gets: the root declared without limits, an organisation with a
# pool and both limits holding exactly what the flavor has left, a team under it, weights with fair sharing on.
COHORT_TREE = (replace_once(MINIMAL_TEXT, "    quota: {gpus: 1}\n", "    nodes: 2\n    quota: {gpus: 2}\n").replace(
    "models:\n", "kueue:\n  fairSharing: true\ncohorts:\n  - name: gpuaas\n    quota: [{flavor: gpu-small, gpus: 0}]\n"
    "  - name: research\n    quota: [{flavor: gpu-small, gpus: 1, lendingLimit: 1, borrowingLimit: 1}]\n    weight: 2\n"
    "teams:\n  - name: search\n    cohort: research\n    weight: 0.5\n    quota: [{flavor: gpu-small, gpus: 1}]\nmodels:\n")
    + "    team: search\n")

NEAR_MISSES = {
    # rule function -> a portfolio that comes as close as possible without breaking the rule
    "unique_model_names": _with_second("tiny-2"),
    "unique_flavor_names": replace_once(MINIMAL_TEXT, "models:\n", "  - name: gpu-small-2\n    instanceType: g5.2xlarge\n"
                                        "    gpusPerNode: 1\n    cpuPerNode: \"4\"\n    memoryPerNode: 16Gi\n    quota: {gpus: 1}\nmodels:\n"),
    "pinned_flavor_exists": MINIMAL_TEXT + "    flavor: gpu-small\n",
    "priority_class_exists": replace_once(MINIMAL_TEXT, "flavors:\n", "kueue:\n  priorityClasses:\n    - {name: urgent, value: 5}\n"
                                          "flavors:\n") + "    priority: urgent\n",
    "gpus_fit_a_node": MINIMAL_TEXT,
    "quota_fits_the_nodes": MINIMAL_TEXT,  # a quota of 1 GPU on one 1-GPU node
    "own_argo_cd_project": replace_once(MINIMAL_TEXT, "gitops:\n", "gitops:\n  project: default-models\n"),
    "storage_is_possible": replace_once(MINIMAL_TEXT, "    sizeGB: 2", "    sizeGB: 19.9"),
    "shared_weights_agree": _with_second("tiny-2", base=MINIMAL_TEXT.replace(*HF_WEIGHTS),
                                         model=SECOND_MODEL.replace(*HF_WEIGHTS)),
    "resources_known": MINIMAL_TEXT,
    "active_models_fit_quota": _with_second("tiny-2"),
    # one team per model, its quota exactly the flavor's, lending all of it
    "teams_are_consistent": replace_once(MINIMAL_TEXT, "models:\n", TEAMS) + "    team: search\n",
    "team_quotas_fit_the_flavors": replace_once(MINIMAL_TEXT, "models:\n", TEAMS) + "    team: search\n",
    # an environment naming the flavor, the model and a team that exist
    "environments_are_consistent": replace_once(MINIMAL_TEXT, "models:\n", TEAMS) + "    team: search\n"
    "environments:\n  - name: dev\n    destinationServer: https://api.dev.example.com:6443\n"
    "    flavors: {gpu-small: {nodes: 1, gpus: 1}}\n    teams: {search: [{flavor: gpu-small, gpus: 1}]}\n    active: [tiny]\n",
    # a team one letter away from another team's support Application, and an environment naming that team
    "application_names_are_unique": replace_once(MINIMAL_TEXT, "models:\n", TEAMS.replace("name: chat", "name: search-supports"))
    + "    team: search\nenvironments:\n  - name: dev\n    destinationServer: https://api.dev.example.com:6443\n",
    # a secret variable of its own beside a literal one, and an argument that names it
    "secret_env_is_its_own": replace_once(MINIMAL_TEXT, "modelDefaults:\n", "modelDefaults:\n  env: {VLLM_USE_V1: \"1\"}\n")
    + "    secretEnv:\n      VLLM_API_KEY: {secret: vllm-api-key, key: token}\n"
    "    vllm:\n      extraArgs: [--api-key=$(VLLM_API_KEY)]\n",
    "callers_are_not_the_model_server": MINIMAL_TEXT + "    callers: [model-serving-client]\n",
    **{name: COHORT_TREE for name in ("cohorts_are_consistent", "no_cohort_cycle", "root_has_no_limits",
                                      "tree_fits_the_flavors", "cohort_quota_has_teams", "weights_need_fair_sharing")},
    "scenarios_name_known_models": MINIMAL_TEXT + "scenarios:\n  - name: s\n    description: d\n    steps:\n"
    "      - title: t\n        disable: [tiny]\n        expect: {tiny: {state: \"off\"}}\n",
}


@pytest.mark.parametrize("rule", sorted(NEAR_MISSES))
def test_rule_passes_on_near_miss(tmp_path: Path, rule: str) -> None:
    loaded = load_text(tmp_path, NEAR_MISSES[rule])
    if rule == "active_models_fit_quota":
        assert baseline_problems(loaded.portfolio, plan(loaded.portfolio, loaded.tree), loaded.tree) == []
    else:
        assert list(next(r for r in rules.RULES if r.__name__ == rule)(loaded.portfolio)) == []


def test_every_rule_has_a_near_miss() -> None:
    assert {r.__name__ for r in rules.RULES} | {"active_models_fit_quota"} == set(NEAR_MISSES)


def test_shared_weights_pair_is_one_upload(tmp_path: Path) -> None:
    from generator.model.derive import uploads

    portfolio = load_text(tmp_path, NEAR_MISSES["shared_weights_agree"]).portfolio
    [upload] = uploads(portfolio)
    assert upload.models == ("tiny", "tiny-2") and upload.prefix == "tiny"


def test_model_at_the_oci_limit_goes_to_s3_when_it_can(tmp_path: Path) -> None:
    from generator.model.derive import storage_uri

    text = replace_once(MINIMAL_TEXT, "      oci: quay.io/example/modelcar-tiny:1.0",
                        "      oci: quay.io/example/modelcar-tiny:1.0\n      huggingFace: Org/Tiny-Model")
    text = replace_once(text, "    sizeGB: 2", "    sizeGB: 20")
    portfolio = load_text(tmp_path, text).portfolio
    assert storage_uri(portfolio.models[0], portfolio) == "s3://models/tiny-model/"


def test_an_active_model_over_quota_is_a_warning_naming_flavor_and_resource(tmp_path: Path) -> None:
    """Switching a model on while the quota is full is how it joins the queue: a warning, never an error."""
    text = _with_second("tiny-2").replace("state: queued", "state: active")
    [warning] = load_text(tmp_path, text).warnings
    assert (warning.rule, warning.severity, warning.path) == ("PF005", "warning", "models[1].state")
    assert "nvidia.com/gpu in gpu-small: 1 used of 1, needs 1" in warning.message


def test_quota_counts_memory_in_the_cpu_flavor(tmp_path: Path) -> None:
    text = replace_once(MINIMAL_TEXT, "flavors:\n", 'kueue:\n  cpuFlavor:\n    quota: {cpu: "4", memory: 8Gi}\nflavors:\n')
    [warning] = load_text(tmp_path, text).warnings
    # the model container's 12Gi, and what OpenShift AI's KServe puts beside it: kube-rbac-proxy 64Mi, the ModelCar 15Mi
    assert f"memory in default-flavor: 0Gi used of 8Gi, needs {12 * 1024 + 64 + 15}Mi" in warning.message


def test_a_model_whose_pod_no_node_holds_is_told_to_lower_its_resources_not_to_wait(tmp_path: Path) -> None:
    """The model asks the node's 4 CPUs; with the kube-rbac-proxy (auth) and the ModelCar (oci://) OpenShift AI's
    KServe puts beside it, its pod asks 4.11, which no node of the flavor holds: more quota or waiting cannot help."""
    whole_node = replace_once(MINIMAL_TEXT, 'requests: {cpu: "3", memory: 12Gi}', 'requests: {cpu: "4", memory: 12Gi}')
    [warning] = load_text(tmp_path, whole_node).warnings
    assert warning.rule == "PF005"
    assert "no node can hold its pod, which asks 4.11 CPUs" in warning.message
    assert "gpu-small 4 CPUs and 16Gi: lower the model's resources" in warning.message
    assert "raise the quota" not in warning.message
    # one CPU less and it fits a node: then the quota is what holds it back, and the hint says so
    fits = replace_once(MINIMAL_TEXT, "flavors:\n", 'kueue:\n  cpuFlavor:\n    quota: {cpu: "2", memory: 16Gi}\nflavors:\n')
    [warning] = load_text(tmp_path, fits).warnings
    assert "raise the quota" in warning.message and "no node can hold" not in warning.message


def test_the_cpu_flavor_quota_defaults_to_what_the_gpu_nodes_hold(tmp_path: Path) -> None:
    from generator.model.derive import cpu_quota

    two_nodes = replace_once(MINIMAL_TEXT, "    quota: {gpus: 1}", "    nodes: 2\n    quota: {gpus: 2}")
    assert cpu_quota(load_text(tmp_path, two_nodes).portfolio) == ("8", "32Gi")


def test_a_flavor_named_like_the_cpu_flavor_is_refused(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, replace_once(MINIMAL_TEXT, "  - name: gpu-small", "  - name: default-flavor"))
    assert (problem.rule, problem.path) == ("PF002", "flavors[0].name")


def test_default_portfolio_baseline_uses_all_five_gpus() -> None:
    from generator.admission.plan import plan
    from generator.render import render

    portfolio = load_named("default").portfolio
    baseline = plan(portfolio, render(portfolio))
    assert {m.name: m.flavor for m in baseline.models if m.state == "admitted"} == {
        "mistral-3-bf16": "nvidia-l4-4gpu", "mistral-3-int4": "nvidia-l4-1gpu"}
    assert sum(q.used for q in baseline.quota if q.resource == "nvidia.com/gpu") == 5

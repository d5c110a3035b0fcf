"""The Applications of a tree with teams: a platform Application and, per team, one for its models and Jobs and one
for what they use without waiting (upload volumes, callers' access); every document in exactly one of them; each
team's AppProject lets it deploy only into its own namespace and only the namespaced kinds it needs, as Argo CD's
project checks decide (pkg/apis/application/v1alpha1/app_project_types.go: IsGroupKindPermitted,
IsDestinationPermitted; controller/sync.go asks both for every resource)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from argocd_sync import Cluster, sync
from conftest import kustomize, load_named, load_text, materialize
from generator.diagnostics import severity_of
from generator.render.common import Tree

APP = "step-05-llm-on-vllm"
BASE = f"gitops/{APP}/base"


@pytest.fixture(scope="module")
def teams_tree() -> Tree:
    return load_named("teams").tree


def of_kind(tree: Tree, kind: str) -> list[dict[str, Any]]:
    return [d for docs in tree.values() for d in docs if d.get("kind") == kind]


def applications(tree: Tree) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for path, docs in tree.items() if path.startswith("gitops/argocd/app-of-apps/")
            for d in docs if d["kind"] == "Application"}


def projects(tree: Tree) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in of_kind(tree, "AppProject")}


def documents_of(tree: Tree, application: dict[str, Any]) -> list[dict[str, Any]]:
    path = application["spec"]["source"]["path"] + "/"
    return [d for file, docs in tree.items() if file.startswith(path) for d in docs if d["kind"] != "Kustomization"]


def canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def _listed(items: list[dict[str, str]] | None, group: str, kind: str) -> bool:
    return any(i["group"] == group and i["kind"] == kind for i in items or [])


def permitted(project: dict[str, Any], document: dict[str, Any], server: str) -> bool:
    """Argo CD's verdict on deploying `document` under `project` (our projects hold no patterns, so matching is equality)."""
    spec = project["spec"]
    group, kind = str(document["apiVersion"]).rpartition("/")[0], document["kind"]
    namespace = (document.get("metadata") or {}).get("namespace")
    if not namespace:  # cluster-scoped: only a kind on a non-empty cluster whitelist
        return _listed(spec.get("clusterResourceWhitelist"), group, kind)
    whitelist = spec.get("namespaceResourceWhitelist")
    kind_allowed = whitelist is None or (len(whitelist) != 0 and _listed(whitelist, group, kind))
    return kind_allowed and any(d["server"] == server and d["namespace"] == namespace for d in spec["destinations"])


def test_a_platform_application_and_two_per_team(teams_tree: Tree) -> None:
    apps = applications(teams_tree)
    teams = [f"team-{i:02d}" for i in range(1, 21)]
    assert set(apps) == {APP, *(f"{APP}-{t}" for t in teams), *(f"{APP}-{t}-support" for t in teams)}
    assert apps[APP]["spec"]["source"]["path"] == f"{BASE}/platform"
    assert apps[f"{APP}-team-02"]["spec"]["source"]["path"] == f"{BASE}/teams/team-02/serving"
    assert apps[f"{APP}-team-02-support"]["spec"]["source"]["path"] == f"{BASE}/teams/team-02/support"
    for team in teams:
        for name in (f"{APP}-{team}", f"{APP}-{team}-support"):
            assert apps[name]["spec"]["project"] == f"gpuaas-portfolio-{team}"
            assert apps[name]["spec"]["destination"]["namespace"] == team


def test_every_document_is_in_exactly_one_application_and_where_it_belongs(teams_tree: Tree) -> None:
    apps = applications(teams_tree)
    placed = [(name, d) for name, app in apps.items() for d in documents_of(teams_tree, app)]
    serving = [d for path, docs in teams_tree.items() if path.startswith(BASE + "/") for d in docs if d["kind"] != "Kustomization"]
    assert len(placed) == len(serving)
    assert sorted(canonical(d) for _, d in placed) == sorted(map(canonical, serving))
    for name, doc in placed:
        namespace = doc["metadata"].get("namespace")
        if name == APP:  # the platform: cluster-scoped Kueue objects, namespaces, queues and hardware profiles
            assert doc["kind"] in {"Namespace", "ResourceFlavor", "ClusterQueue", "Cohort", "WorkloadPriorityClass",
                                   "LocalQueue", "HardwareProfile"}
        elif name.endswith("-support"):  # what no wave waits on, in one wave
            assert doc["kind"] in {"ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim"}
            assert name == f"{APP}-{namespace}-support" and "argocd.argoproj.io/sync-wave" not in doc["metadata"].get("annotations", {})
        else:
            assert doc["kind"] not in {"Namespace", "LocalQueue", "ClusterQueue", "Role", "RoleBinding", "PersistentVolumeClaim"}
            assert name == f"{APP}-{namespace}"


def test_the_team_applications_wait_on_their_own_jobs_only(teams_tree: Tree) -> None:
    """team-11's failed upload stops team-11's models on every attempt; team-03's Application syncs as before."""
    apps = applications(teams_tree)
    failing = Cluster(health=lambda d: "Degraded" if d["kind"] == "Job" and d["metadata"]["namespace"] == "team-11"
                      and d["metadata"]["name"].startswith("upload-gpt-oss-20b-") else "Healthy")
    attempts = sync(apps[f"{APP}-team-11"], documents_of(teams_tree, apps[f"{APP}-team-11"]), failing)
    assert len(attempts) == 6 and all(a.phase == "Failed" for a in attempts)
    assert not [k for a in attempts for k in a.applied if k[0] == "InferenceService"]
    [other] = sync(apps[f"{APP}-team-03"], documents_of(teams_tree, apps[f"{APP}-team-03"]), failing)
    assert other.phase == "Succeeded" and ("InferenceService", "team-03", "team-03-chat") in other.applied
    jobs = [d for d in documents_of(teams_tree, apps[f"{APP}-team-11"]) if d["kind"] == "Job"]
    assert jobs and all(j["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "default" for j in jobs)


def test_every_application_may_deploy_what_it_holds(teams_tree: Tree) -> None:
    apps, found = applications(teams_tree), projects(teams_tree)
    for app in apps.values():
        project = found[app["spec"]["project"]]
        server = app["spec"]["destination"]["server"]
        assert any(d == {"server": server, "namespace": app["spec"]["destination"]["namespace"]}
                   for d in project["spec"]["destinations"])
        for doc in documents_of(teams_tree, app):
            assert permitted(project, doc, server), (app["metadata"]["name"], doc["kind"], doc["metadata"])


def test_a_team_may_deploy_only_into_its_namespace_and_only_its_kinds(teams_tree: Tree) -> None:
    project = projects(teams_tree)["gpuaas-portfolio-team-01"]
    server = "https://kubernetes.default.svc"
    assert project["spec"]["destinations"] == [{"server": server, "namespace": "team-01"}]
    assert project["spec"]["clusterResourceWhitelist"] == []
    assert {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]} == {
        ("", "ConfigMap"), ("", "ServiceAccount"), ("batch", "Job"), ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"), ("serving.kserve.io", "InferenceService"),
        ("serving.kserve.io", "ServingRuntime"), ("", "PersistentVolumeClaim")}
    own = next(d for d in of_kind(teams_tree, "InferenceService") if d["metadata"]["namespace"] == "team-01")
    assert permitted(project, own, server)
    elsewhere = copy.deepcopy(own)
    elsewhere["metadata"]["namespace"] = "team-02"
    assert not permitted(project, elsewhere, server)  # "namespace team-02 is not permitted in project"
    for refused in [next(iter(of_kind(teams_tree, "ClusterQueue"))), next(iter(of_kind(teams_tree, "Namespace"))),
                    next(d for d in of_kind(teams_tree, "LocalQueue") if d["metadata"]["namespace"] == "team-01")]:
        assert not permitted(project, refused, server), refused["kind"]  # a team cannot re-point its quota


def test_each_application_path_builds_and_holds_its_documents(kubectl: str, tmp_path: Path, teams_tree: Tree) -> None:
    root = materialize(teams_tree, tmp_path)
    apps = applications(teams_tree)
    for name in (APP, f"{APP}-team-02", f"{APP}-team-02-support"):
        built = kustomize(kubectl, root / apps[name]["spec"]["source"]["path"])
        assert built.returncode == 0, built.stderr
        assert len(list(yaml.safe_load_all(built.stdout))) == len(documents_of(teams_tree, apps[name]))


TEAMS_AND_ENVIRONMENTS = """
environments:
  - name: dev
    destinationServer: https://api.dev.example.com:6443
    teams:
      team-01: [{flavor: nvidia-l4-4gpu, gpus: 4}]
    active: [team-02-chat, team-03-chat]
  - name: prod
    destinationServer: https://api.prod.example.com:6443
"""


def test_environments_give_each_application_an_overlay(kubectl: str, tmp_path: Path) -> None:
    from generator.model.environments import environment_named, environment_portfolio
    from generator.render import render_serving

    text = (Path(__file__).parent / "fixtures/portfolios/valid/teams/portfolio.yaml").read_text(encoding="utf-8")
    loaded = load_text(tmp_path, text + TEAMS_AND_ENVIRONMENTS)
    tree = loaded.tree
    apps = applications(tree)
    assert f"{APP}-dev" in apps and f"{APP}-dev-team-02" in apps and f"{APP}-prod-team-20-support" in apps
    assert apps[f"{APP}-dev-team-02"]["spec"]["source"]["path"] == f"gitops/{APP}/overlays/dev/teams/team-02/serving"
    assert apps[f"{APP}-dev-team-02"]["spec"]["destination"]["server"] == "https://api.dev.example.com:6443"
    team_project = projects(tree)["gpuaas-portfolio-team-02"]
    assert {d["server"] for d in team_project["spec"]["destinations"]} == {
        "https://kubernetes.default.svc", "https://api.dev.example.com:6443", "https://api.prod.example.com:6443"}
    environment = environment_named(loaded.portfolio, "dev")
    assert environment is not None
    expected = render_serving(environment_portfolio(loaded.portfolio, environment))
    root = materialize(tree, tmp_path / "tree")
    for name, folder in ((f"{APP}-dev", "platform"), (f"{APP}-dev-team-02", "teams/team-02/serving")):
        built = kustomize(kubectl, root / apps[name]["spec"]["source"]["path"])
        assert built.returncode == 0, built.stderr
        want = [d for path, docs in expected.items() if path.startswith(f"{BASE}/{folder}/") for d in docs
                if d["kind"] != "Kustomization"]
        assert sorted(map(canonical, yaml.safe_load_all(built.stdout))) == sorted(map(canonical, want))


def _tree_with_an_application_of(resources: int, *, deleted: int = 0) -> Tree:
    """An app-of-apps Application whose path is an overlay of a base of `resources` ConfigMaps, deleting `deleted`."""
    def kustomization(**fields: Any) -> list[dict[str, Any]]:
        return [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields}]

    maps = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "namespace": "team-01"}}
            for i in range(resources)]
    delete = [{"target": {"kind": "ConfigMap", "name": f"c{i}"},
               "patch": f"$patch: delete\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"} for i in range(deleted)]
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "big"},
           "spec": {"project": "p", "source": {"path": "gitops/a/overlays/dev/teams/t"}}}
    return {"gitops/argocd/app-of-apps/big.yaml": [app],
            "gitops/a/base/teams/t/kustomization.yaml": kustomization(resources=["maps"]),
            "gitops/a/base/teams/t/maps/kustomization.yaml": kustomization(resources=["maps.yaml"]),
            "gitops/a/base/teams/t/maps/maps.yaml": maps,
            "gitops/a/overlays/dev/teams/t/kustomization.yaml": kustomization(
                resources=["../../../../base/teams/t"], **({"patches": delete} if delete else {}))}


def test_an_application_path_over_the_bound_is_a_warning() -> None:
    from generator.checks.lint import COMFORTABLE_RESOURCES, lint_tree

    def found(tree: Tree) -> list[Any]:
        return [p for p in lint_tree(tree) if p.rule == "ARGO001"]

    assert found(_tree_with_an_application_of(COMFORTABLE_RESOURCES)) == []
    [problem] = found(_tree_with_an_application_of(COMFORTABLE_RESOURCES + 1))
    assert severity_of(problem.rule) == "warning" and problem.path == ("spec", "source", "path")
    assert f"renders {COMFORTABLE_RESOURCES + 1:,} resources" in problem.message
    assert found(_tree_with_an_application_of(COMFORTABLE_RESOURCES + 1, deleted=1)) == []  # a patch deletes one


def test_a_team_too_large_for_one_path_is_told_to_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from conftest import ROOT
    from generator.cli import main

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    from make_portfolio import dump, scale

    def warnings(models: int) -> list[dict[str, Any]]:
        (tmp_path / "portfolio.yaml").write_text(dump(scale(models, 2)), encoding="utf-8")
        capsys.readouterr()
        assert main(["validate", "--root", str(tmp_path), "--format", "json"]) == 0  # a warning does not fail
        return [d for d in json.loads(capsys.readouterr().out)["diagnostics"] if d["rule"] == "ARGO001"]

    assert warnings(300) == []  # 150 models a team
    found = warnings(600)  # 300 a team: 300 volumes, 300 Roles, 300 RoleBindings and two ServiceAccounts in each support path
    assert sorted(d["file"] for d in found) == [f"gitops/argocd/app-of-apps/{APP}-team-0{t}-support.yaml" for t in (1, 2)]
    assert all(d["severity"] == "warning" and "renders 902 resources" in d["message"] for d in found)
    assert sorted(d["origin"].split()[-1] for d in found) == ["teams[0]", "teams[1]"]


def test_an_environment_that_spells_another_environments_team_is_refused(tmp_path: Path) -> None:
    from conftest import problems_in

    text = (Path(__file__).parent / "fixtures/portfolios/valid/teams/portfolio.yaml").read_text(encoding="utf-8")
    found = problems_in(tmp_path, text + "environments:\n  - name: dev\n    destinationServer: https://a.example.com:6443\n"
                        "  - name: dev-team-01\n    destinationServer: https://b.example.com:6443\n")
    assert [(d.rule, d.path) for d in found] == [("ARGO002", "environments[1].name")]
    assert "the platform Application in environment 'dev-team-01' would be named 'step-05-llm-on-vllm-dev-team-01', like " \
           "the models Application of team 'team-01' in environment 'dev'" in found[0].message

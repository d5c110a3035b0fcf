"""The real Argo CD syncing the 20-team fixture's app-of-apps: a platform Application and two per team.

The tree is committed to the box's Git server and bootstrapped as test_argocd.py does. Then a second commit gives
one team a new model whose upload Job fails (its pod fits no node and its deadline passes: the Job controller
marks it Failed), and a stray Application of another team's project points at a path holding a resource in a
third team's namespace. What the tests expect is read from the rendered tree.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from box.boxes import wait_for
from box.test_argocd import (
    BOOTSTRAP,
    PHASES,
    SETTLE_TIMEOUT,
    SYNC_TIMEOUT,
    Deployed,
    _described,
    _first_operation,
    _live_objects,
    _rendered_key,
    _reported_key,
    _state,
    _timestamp,
    _wave,
    deploy,
)
from conftest import ROOT
from generator.model.derive import model_namespace
from generator.output.tree import write_tree
from generator.pipeline import prepare
from generator.render import render
from generator.render.common import Tree

TEAMS = ROOT / "tests" / "fixtures" / "portfolios" / "valid" / "teams" / "portfolio.yaml"
FAILING = "team-05"  # gains a model whose upload Job fails
NEW_MODEL = "team-05-extra"
NEW_WEIGHTS = "RedHatAI/Qwen3-8B-FP8-dynamic"  # weights no other model of the fixture names: an upload Job of its own
STRAY_TEAM, OTHER_TEAM = "team-03", "team-04"  # team-03's project, a ConfigMap in team-04's namespace
STRAY_PATH = "gitops/stray"
UNSCHEDULABLE = {"box.gpuaas-generator.invalid/no-such-node": "true"}
FAILED_JOB_DEADLINE = 10  # seconds; the Job controller fails the Job when its pod has not finished by then
RETRIES_SEEN = 2


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    yield from deploy(tmp_path_factory, TEAMS)


@dataclass(frozen=True)
class Second:
    commit: str
    upload: str  # the failing upload Job
    later: set[str]  # the Jobs of FAILING the commit adds in later waves (its new registration)


@pytest.fixture(scope="module")
def second(deployed: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Second:
    """The second commit, published once every Application has synced the first."""
    _first_operation(deployed, deployed.root_application()["metadata"]["name"])
    for child in deployed.children():
        _first_operation(deployed, child["metadata"]["name"])
    return Second(*_failing_commit(deployed, tmp_path_factory.mktemp("second")))


def _team_model(text: str) -> str:
    """The portfolio's text with one more model for FAILING (queued: it needs no quota of its own to show the order)."""
    entry = (f"- name: {NEW_MODEL}\n  displayName: Team 05 extra\n  provider: RedHatAI\n  useCase: a model whose upload "
             f"fails\n  weights:\n    huggingFace: {NEW_WEIGHTS}\n  sizeGB: 9\n  precision: fp8\n  gpus: 1\n"
             f"  state: queued\n  team: {FAILING}\n  priority: standard\n")
    assert "\ncohorts:\n" in text
    return text.replace("\ncohorts:\n", "\n" + entry + "cohorts:\n", 1)


def _jobs(tree: Tree, namespace: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for docs in tree.values() for d in docs
            if d.get("kind") == "Job" and d["metadata"].get("namespace") == namespace}


def _failing_commit(deployed: Deployed, scratch: Path) -> tuple[str, str, set[str]]:
    """Publish the second commit: FAILING's new model with an upload Job made to fail, and the stray path.
    Returns the commit, the failing Job's name and the names of the Jobs the new commit adds after it."""
    text = _team_model((deployed.root / "portfolio.yaml").read_text(encoding="utf-8"))
    repository = scratch / "repository"
    shutil.copytree(deployed.root, repository, ignore=shutil.ignore_patterns("gitops"))
    (repository / "portfolio.yaml").write_text(text, encoding="utf-8")
    portfolio = prepare(repository / "portfolio.yaml", display_name="portfolio.yaml").portfolio
    tree = render(portfolio)
    before = _jobs(render(deployed.portfolio), FAILING)
    added = {name: job for name, job in _jobs(tree, FAILING).items() if name not in before}
    [upload] = [name for name, job in added.items() if job["metadata"]["labels"]["app.kubernetes.io/component"] == "model-upload"]
    job = added[upload]
    job["spec"]["activeDeadlineSeconds"] = FAILED_JOB_DEADLINE
    job["spec"]["template"]["spec"]["nodeSelector"] = UNSCHEDULABLE
    stray = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": OTHER_TEAM},
             "data": {"from": STRAY_TEAM}}
    tree[f"{STRAY_PATH}/kustomization.yaml"] = [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                                 "resources": ["stray.yaml"]}]
    tree[f"{STRAY_PATH}/stray.yaml"] = [stray]
    write_tree(tree, repository)
    commit = deployed.git.publish(deployed.box, "portfolio", repository, branch=portfolio.gitops.target_revision)
    assert commit != deployed.commit
    return commit, upload, set(added) - {upload}


def _refresh(deployed: Deployed, names: list[str]) -> None:
    """Ask Argo CD to look at the repository again now (it polls every 3 minutes)."""
    for name in names:
        deployed.box.kubectl("annotate", "applications.argoproj.io", name, "-n", deployed.namespace, "--overwrite",
                             "argocd.argoproj.io/refresh=normal")


def _essentials(state: dict[str, Any]) -> dict[str, Any]:
    """An operation state trimmed to what the report shows."""
    result = state.get("syncResult") or {}
    return {"phase": state.get("phase"), "message": state.get("message"), "retryCount": state.get("retryCount", 0),
            "revision": result.get("revision"),
            "resources": [{k: r[k] for k in ("kind", "namespace", "name", "status", "hookPhase", "syncPhase") if r.get(k)}
                          for r in result.get("resources") or []]}


def test_the_root_syncs_the_platform_and_every_teams_applications_synced_and_healthy(deployed: Deployed) -> None:
    """The root Application's sync creates the platform Application and two per team; each syncs its path in one
    operation, phase after phase and wave after wave, a later wave created only after the earlier waves' Jobs
    completed; then every Application is Synced at the commit and Healthy, but for what holds a model the
    portfolio does not start (a queued model's InferenceService, and so its Application, is Suspended)."""
    root = deployed.root_application()["metadata"]["name"]
    print("root operation state:\n" + yaml.safe_dump(_essentials(_first_operation(deployed, root)), sort_keys=False))
    children = deployed.children()
    application = deployed.portfolio.gitops.application
    teams = [t.name for t in deployed.portfolio.teams]
    assert {c["metadata"]["name"] for c in children} == {
        application, *(f"{application}-{t}" for t in teams), *(f"{application}-{t}-support" for t in teams)}
    waiting = {m.name for m in deployed.portfolio.models if m.state != "active"}
    jobs_checked = 0
    for child in children:
        name = child["metadata"]["name"]
        operation = _first_operation(deployed, name)
        if name == f"{application}-{FAILING}":
            print(f"{name} operation state:\n" + yaml.safe_dump(_essentials(operation), sort_keys=False))
        rendered = {_rendered_key(d): d for d in deployed.built(child["spec"]["source"]["path"])}
        results = operation["syncResult"]["resources"]
        applied = [_reported_key(r, rendered) for r in results]
        assert set(applied) == set(rendered) and all(r["status"] == "Synced" for r in results), name
        order = [(PHASES[r.get("syncPhase") or "Sync"], _wave(rendered[k])) for r, k in zip(results, applied, strict=True)]
        assert order == sorted(order), f"{name}: the sync went back a phase or a wave: {order}"
        live = _live_objects(deployed.box, list(rendered))
        for key, obj in live.items():
            if key[:2] != ("batch", "Job"):
                continue
            done = obj["status"].get("completionTime")
            assert done, f"{key}: a Job of a synced Application has not completed"
            early = [k for k in live if _wave(rendered[k]) > _wave(rendered[key])
                     and _timestamp(live[k]["metadata"]["creationTimestamp"]) < _timestamp(done)]
            assert early == [], f"{name}: created before the Job {key[3]} completed"
            jobs_checked += 1

        def settled(name: str = name) -> bool:
            status = deployed.application(name).get("status") or {}
            if (status.get("sync") or {}).get("status") != "Synced" or status["sync"].get("revision") != deployed.commit:
                return False
            unhealthy = [r for r in status.get("resources") or [] if (r.get("health") or {}).get("status", "Healthy") != "Healthy"]
            expected = {r["health"]["status"] for r in unhealthy} or {"Healthy"}
            return bool(status.get("health", {}).get("status") in expected
                        and all(r["kind"] == "InferenceService" and r["name"] in waiting for r in unhealthy))

        wait_for(f"Application {name} Synced and Healthy", settled, timeout=SETTLE_TIMEOUT, describe=partial(_described, deployed, name), every=2)
    assert jobs_checked == sum(1 for docs in render(deployed.portfolio).values() for d in docs if d.get("kind") == "Job")


def test_a_failed_upload_keeps_its_teams_new_model_out_on_every_retry_and_other_teams_sync(
        deployed: Deployed, second: Second) -> None:
    """A second commit gives FAILING a model whose upload Job fails. Argo CD applies the Job, sees it Degraded and
    fails the operation at its wave; each retry applies it again and stops there: the model's InferenceService and
    the team's new registration Job are never created, and the team's Application is never Synced at the commit.
    Every other Application compares Synced at the new commit, its own models untouched."""
    application = deployed.portfolio.gitops.application
    names = [c["metadata"]["name"] for c in deployed.children()]
    commit, upload, later = second.commit, second.upload, second.later
    failing = f"{application}-{FAILING}"
    _refresh(deployed, [deployed.root_application()["metadata"]["name"], *names])
    created: list[str] = []

    def model_absent() -> None:
        for kind, name in (("inferenceservices.serving.kserve.io", NEW_MODEL), *(("jobs.batch", j) for j in later)):
            found = deployed.box.kubectl_json("get", kind, "-n", FAILING, "--field-selector", f"metadata.name={name}")
            created.extend(f"{kind}/{name}" for _ in found["items"])

    def retried() -> dict[str, Any] | None:
        model_absent()
        return next((s for s in deployed.watch.states(failing) if s.get("retryCount", 0) >= RETRIES_SEEN
                     and (s.get("syncResult") or {}).get("revision") == commit), None)

    state = wait_for(f"Application {failing} retried {RETRIES_SEEN} times", retried, timeout=SYNC_TIMEOUT,
                     describe=partial(_described, deployed, failing), every=2)
    attempts = [s for s in deployed.watch.states(failing) if (s.get("syncResult") or {}).get("revision") == commit]
    print(f"{failing} operation states at {commit[:12]}:\n"
          + yaml.safe_dump([_essentials(s) for s in attempts], sort_keys=False))
    assert created == [], f"created although the upload failed: {sorted(set(created))}"
    job = deployed.box.kubectl_json("get", "jobs.batch", upload, "-n", FAILING)
    assert any(c["type"] == "Failed" and c["status"] == "True" for c in job["status"]["conditions"])
    retries = {s["retryCount"] for s in attempts if "Retrying attempt #" in (s.get("message") or "")}
    assert state["phase"] == "Running" and len(retries) >= RETRIES_SEEN, [_essentials(s) for s in attempts]
    results = {(r["kind"], r["name"]): r for r in state["syncResult"]["resources"]}
    assert ("Job", upload) in results and ("InferenceService", NEW_MODEL) not in results
    status = deployed.application(failing)["status"]
    assert status["sync"]["status"] == "OutOfSync" and status["health"]["status"] == "Degraded", _state(deployed.application(failing))

    for name in names:
        if name == failing:
            continue

        def synced(name: str = name) -> bool:
            sync = (deployed.application(name).get("status") or {}).get("sync") or {}
            return bool(sync.get("status") == "Synced" and sync.get("revision") == commit)

        wait_for(f"Application {name} Synced at {commit[:12]}", synced, timeout=SETTLE_TIMEOUT, describe=partial(_described, deployed, name), every=2)
    others = deployed.box.kubectl_json("get", "inferenceservices.serving.kserve.io", "--all-namespaces")["items"]
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in others} == {
        (model_namespace(m, deployed.portfolio), m.name) for m in deployed.portfolio.models}


def test_a_teams_project_refuses_a_resource_in_another_teams_namespace(deployed: Deployed, second: Second) -> None:
    """An Application of STRAY_TEAM's project, aimed at its own namespace, whose path (in the second commit) holds a
    ConfigMap in OTHER_TEAM's namespace: Argo CD refuses to sync it, naming the namespace and the project, and the
    ConfigMap is never created."""
    projects = {d["metadata"]["name"]: d for d in deployed.built(BOOTSTRAP) if d["kind"] == "AppProject"}
    project = f"{deployed.portfolio.gitops.project}-{STRAY_TEAM}"
    assert {d["namespace"] for d in projects[project]["spec"]["destinations"]} == {STRAY_TEAM}
    template = next(c for c in deployed.children() if c["spec"]["project"] == project)
    stray = copy.deepcopy(template)
    stray["metadata"] = {"name": f"{STRAY_TEAM}-stray", "namespace": deployed.namespace}
    stray["spec"]["source"] = {**stray["spec"]["source"], "path": STRAY_PATH, "targetRevision": second.commit}
    stray["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    deployed.box.kubectl("apply", "-f", "-", input=yaml.safe_dump(stray))
    name = stray["metadata"]["name"]
    try:
        def refused() -> dict[str, Any] | None:
            """The first attempt that ended with the stray resource refused (automated sync retries it, 5 times)."""
            state = (deployed.application(name).get("status") or {}).get("operationState") or {}
            results = (state.get("syncResult") or {}).get("resources") or []
            return state if any(r["status"] == "SyncFailed" for r in results) else None

        state = wait_for(f"Application {name} refused", refused, timeout=SETTLE_TIMEOUT, describe=partial(_described, deployed, name), every=2)
        print(f"{name} operation state:\n" + yaml.safe_dump(_essentials(state), sort_keys=False))
        [result] = state["syncResult"]["resources"]
        assert (result["kind"], result["namespace"], result["status"]) == ("ConfigMap", OTHER_TEAM, "SyncFailed")
        assert result["message"] == f"namespace {OTHER_TEAM} is not permitted in project '{project}'", result
        assert "one or more synchronization tasks are not valid" in state["message"]
        found = deployed.box.kubectl_json("get", "configmaps", "-n", OTHER_TEAM, "--field-selector", "metadata.name=stray")
        assert found["items"] == []
    finally:
        deployed.box.kubectl("delete", "applications.argoproj.io", name, "-n", deployed.namespace, "--wait=false")

"""The real Argo CD (cluster/argocd: the release OpenShift GitOps ships) syncing a fixture portfolio's tree.

The fixture is rendered with its `gitops.repoURL` pointed at the box's Git server, committed there, and
bootstrapped as an administrator does (`kubectl apply -k gitops/argocd/bootstrap`, the runbook's JSON patch of
the `ArgoCD` instance's health checks, then what the operator does with them). What the tests expect is read from the rendered tree (the
Applications of the app-of-apps, their paths, the sync waves of what those paths hold, the AppProjects), so they
hold as the tree changes shape.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from box.boxes import wait_for
from generator.model.portfolio import Portfolio
from generator.output.tree import write_tree
from generator.pipeline import prepare
from generator.render import render
from generator.render.common import SYNC_WAVE
from generator.sandbox.argocd import MODULE, ApplicationWatch, ArgoCD, module_source, repository_secret
from generator.sandbox.box import Box
from generator.sandbox.build import ensure_built
from generator.sandbox.gitserver import GitServer
from generator.sandbox.health import custom_checks, lua_health, resource_health
from generator.sandbox.stack import stack

pytestmark = pytest.mark.box

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "portfolios" / "valid" / "demo" / "portfolio.yaml"
CRDS = Path(os.environ.get("CRD_DIR") or ROOT.parent / "shared" / "crds")
REPOSITORY = "portfolio"
APP_OF_APPS = Path("gitops/argocd/app-of-apps")
BOOTSTRAP = Path("gitops/argocd/bootstrap")
SYNC_TIMEOUT = 900.0  # the whole tree, wave by wave, on a busy 2-core machine
SETTLE_TIMEOUT = 180.0
ARGO = "/apis/argoproj.io/v1alpha1"
PHASES = {"PreSync": 0, "Sync": 1, "PostSync": 2}  # the order of Argo CD's sync phases (SyncFail runs on failure only)
OUTSIDE = "box-outside-every-project"

Key = tuple[str, str, str, str]  # group, kind, namespace, name


@dataclass
class Deployed:
    box: Box
    argocd: ArgoCD
    portfolio: Portfolio
    root: Path  # the rendered repository, as committed to the box's Git server
    commit: str
    watch: ApplicationWatch  # every operation state since the bootstrap
    git: GitServer

    @property
    def namespace(self) -> str:
        return self.portfolio.gitops.argocd_namespace

    def application(self, name: str) -> dict[str, Any]:
        status, body = self.box.request("GET", f"{ARGO}/namespaces/{self.namespace}/applications/{name}")
        assert status == 200, f"Application {name}: {status} {body}"
        return dict(body)

    def built(self, path: str | Path) -> list[dict[str, Any]]:
        """`kubectl kustomize` of a folder of the rendered repository (what the repo-server renders from it)."""
        done = subprocess.run(["kubectl", "kustomize", str(self.root / path)], capture_output=True, text=True, check=True)
        return [d for d in yaml.safe_load_all(done.stdout) if d]

    def children(self) -> list[dict[str, Any]]:
        found = [d for d in self.built(APP_OF_APPS) if d["kind"] == "Application"]
        assert found, f"{APP_OF_APPS} renders no Application"
        return found

    def root_application(self) -> dict[str, Any]:
        [found] = [d for d in self.built(BOOTSTRAP) if d["kind"] == "Application"]
        return found


def _repo_url_rewritten(text: str, url: str) -> str:
    """The portfolio's text with its `gitops.repoURL` (wherever the value occurs) replaced by `url`."""
    current = str(yaml.safe_load(text)["gitops"]["repoURL"])
    assert current in text
    return text.replace(current, url)


def deploy(tmp_path_factory: pytest.TempPathFactory, fixture: Path) -> Iterator[Deployed]:
    """A box with Kueue, KServe and Argo CD; the fixture's tree committed to its Git server and bootstrapped."""
    if not (CRDS / "argo-cd").is_dir():
        pytest.fail(f"the upstream CRDs are required in {CRDS} (set CRD_DIR); the box tier must not be skipped")
    box = Box(tmp_path_factory.mktemp("box"), bin_dir=ensure_built())
    base = prepare(fixture, display_name="portfolio.yaml").portfolio
    parts = stack(base, render(base), [CRDS], argocd=True)
    git, argocd = parts.git, parts.argocd
    assert git is not None and argocd is not None
    box.start(parts.components)
    try:
        root = tmp_path_factory.mktemp("repository")
        url = git.url(box, REPOSITORY)
        text = _repo_url_rewritten(fixture.read_text(encoding="utf-8"), url)
        (root / "portfolio.yaml").write_text(text, encoding="utf-8")
        portfolio = prepare(root / "portfolio.yaml", display_name="portfolio.yaml").portfolio
        write_tree(render(portfolio), root)
        commit = git.publish(box, REPOSITORY, root, branch=portfolio.gitops.target_revision)
        box.kubectl("apply", "--server-side", "-f", "-",
                    input=yaml.safe_dump(repository_secret(portfolio.gitops.argocd_namespace, REPOSITORY, url)))
        watch = ApplicationWatch(box, portfolio.gitops.argocd_namespace).start()
        box.kubectl("apply", "-k", str(root / BOOTSTRAP))
        argocd.merge_health_checks(box, portfolio.gitops.argocd_instance)
        argocd.apply_operator_settings(box)
        yield Deployed(box, argocd, portfolio, root, commit, watch, git)
        watch.stop()
    finally:
        box.stop()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """The demo fixture's tree, synced by Argo CD."""
    yield from deploy(tmp_path_factory, FIXTURE)


def _state(app: dict[str, Any]) -> str:
    status = app.get("status") or {}
    return yaml.safe_dump({"sync": status.get("sync"), "health": status.get("health"), "conditions": status.get("conditions"),
                           "operationState": status.get("operationState")}, sort_keys=False)


def _described(deployed: Deployed, name: str) -> str:
    return _state(deployed.application(name))


def _first_operation(deployed: Deployed, name: str) -> dict[str, Any]:
    """The first operation of the Application `name` that ended on the published commit, as the watch saw it end
    (a later self-heal or retry replaces it in the Application); it must have succeeded."""
    def ended() -> dict[str, Any] | None:
        return next((s for s in deployed.watch.finished(name)
                     if (s.get("syncResult") or {}).get("revision") == deployed.commit), None)

    operation = dict(wait_for(f"Application {name}: a sync of {deployed.commit[:12]} ended", ended, timeout=SYNC_TIMEOUT,
                              describe=partial(_described, deployed, name), every=2))
    assert operation["phase"] == "Succeeded", yaml.safe_dump(operation, sort_keys=False)
    return operation


def _rendered_key(document: dict[str, Any]) -> Key:
    meta = document["metadata"]
    return str(document["apiVersion"]).rpartition("/")[0], str(document["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


def _reported_key(resource: dict[str, Any], rendered: Iterable[Key]) -> Key:
    """The rendered key of an entry of an Application's status.resources or operationState.syncResult.resources.

    The operation state names a cluster-scoped resource with the Application's destination namespace (Argo CD
    v3.1.9): an entry matches the rendered resource of its namespace, else the cluster-scoped one of its name."""
    key = str(resource.get("group") or ""), str(resource["kind"]), str(resource.get("namespace") or ""), str(resource["name"])
    cluster_scoped = (key[0], key[1], "", key[3])
    return cluster_scoped if key not in rendered and cluster_scoped in rendered else key


def _wave(document: dict[str, Any]) -> int:
    return int((document["metadata"].get("annotations") or {}).get(SYNC_WAVE, "0"))


def _timestamp(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_root_application_syncs_the_app_of_apps_and_each_child_application_syncs(deployed: Deployed) -> None:
    """The root Application's sync succeeds and creates exactly the app-of-apps' Applications; each of them syncs
    its path: every resource of the path is the Application's, and its sync succeeded."""
    root = deployed.root_application()["metadata"]["name"]
    _first_operation(deployed, root)
    children = deployed.children()
    expected = {_rendered_key(c) for c in children}
    assert {_reported_key(r, expected) for r in deployed.application(root)["status"]["resources"]} == expected
    for child in children:
        name = child["metadata"]["name"]
        _first_operation(deployed, name)
        rendered = {_rendered_key(d) for d in deployed.built(child["spec"]["source"]["path"])}
        assert {_reported_key(r, rendered) for r in deployed.application(name)["status"]["resources"]} == rendered


def test_every_application_is_synced_once_its_sync_has_run(deployed: Deployed) -> None:
    """After its sync, each Application compares Synced with the commit: what the API server keeps of each
    resource is what the tree says (a field the server rewrites keeps an Application OutOfSync forever, and
    self-heal applies it again and again). A failure names each field the server keeps otherwise."""
    for app in [deployed.root_application(), *deployed.children()]:
        name = app["metadata"]["name"]
        path = APP_OF_APPS if name == deployed.root_application()["metadata"]["name"] else app["spec"]["source"]["path"]
        _first_operation(deployed, name)

        def synced(name: str = name) -> bool:
            sync = deployed.application(name)["status"]["sync"]
            return bool(sync.get("status") == "Synced" and sync.get("revision") == deployed.commit)

        wait_for(f"Application {name} Synced at {deployed.commit[:12]}", synced, timeout=SETTLE_TIMEOUT,
                 describe=partial(_out_of_sync, deployed, name, path), every=2)


def _out_of_sync(deployed: Deployed, name: str, path: str | Path) -> str:
    """Each OutOfSync resource of the Application, with the fields the tree sets that the live object (read in
    the tree's apiVersion) holds otherwise."""
    rendered = {_rendered_key(d): d for d in deployed.built(path)}
    lines = []
    for resource in deployed.application(name)["status"].get("resources") or []:
        if resource.get("status") == "Synced":
            continue
        key = _reported_key(resource, rendered)
        lines.append(f"{key[0] or 'core'} {key[1]} {key[2]}/{key[3]}: {resource.get('status')}")
        document = rendered.get(key)
        if document is None:
            continue
        group, _, version = str(document["apiVersion"]).rpartition("/")
        kind = ".".join(p for p in (key[1], version, group) if p)
        live = deployed.box.kubectl_json("get", kind, key[3], *(["-n", key[2]] if key[2] else []))
        lines += [f"  {field}" for field in _differences(document.get("spec") or {}, live.get("spec") or {}, "spec")]
    return "\n".join(lines) or _described(deployed, name)


def _differences(wanted: Any, live: Any, where: str) -> list[str]:
    """The fields of `wanted` that `live` holds otherwise (fields `live` adds are defaults, not differences)."""
    if isinstance(wanted, dict) and isinstance(live, dict):
        return [d for k, v in wanted.items() for d in _differences(v, live.get(k), f"{where}.{k}")]
    if isinstance(wanted, list) and isinstance(live, list) and len(wanted) == len(live):
        return [d for i, (w, v) in enumerate(zip(wanted, live, strict=True)) for d in _differences(w, v, f"{where}[{i}]")]
    return [] if str(wanted) == str(live) else [f"{where}: the tree {wanted!r}, the cluster {live!r}"]


def test_each_sync_applies_every_resource_in_one_operation_wave_after_wave(deployed: Deployed) -> None:
    """The operation state lists what the sync applied in the order it applied it; every resource of the path is
    there (the first attempt succeeded), phases and waves never go back, and a later wave was created only after
    every Job of the earlier waves had completed (Argo CD waits for a wave's health)."""
    waves_seen: set[int] = set()
    jobs_checked = 0
    for child in deployed.children():
        name = child["metadata"]["name"]
        operation = _first_operation(deployed, name)
        rendered = {_rendered_key(d): d for d in deployed.built(child["spec"]["source"]["path"])}
        results = operation["syncResult"]["resources"]
        assert [r for r in results if r["status"] != "Synced"] == []
        applied = [_reported_key(r, rendered) for r in results]
        assert set(applied) == set(rendered), "not every resource was applied by one operation"
        order = [(PHASES[r.get("syncPhase") or "Sync"], _wave(rendered[key])) for r, key in zip(results, applied, strict=True)]
        assert order == sorted(order), f"{name}: the sync went back a phase or a wave: {order}"
        waves_seen |= {wave for _, wave in order}

        live = _live_objects(deployed.box, list(rendered))
        created = {key: _timestamp(obj["metadata"]["creationTimestamp"]) for key, obj in live.items()}
        for key, obj in live.items():
            if key[1] != "Job" or key[0] != "batch":
                continue
            done = (obj.get("status") or {}).get("completionTime")
            assert done, f"{key}: a Job of a synced Application has not completed"
            later = [k for k in live if _wave(rendered[k]) > _wave(rendered[key])]
            early = [k for k in later if created[k] < _timestamp(done)]
            assert early == [], f"{name}: created before the wave-{_wave(rendered[key])} Job {key[3]} completed at {done}"
            jobs_checked += 1
    assert len(waves_seen) > 1, "the tree has a single wave: nothing to order"
    assert jobs_checked > 0, "no Job in the synced Applications: the wave gate is not exercised"


def _live_objects(box: Box, keys: list[Key]) -> dict[Key, dict[str, Any]]:
    """The live objects of `keys`, in one kubectl call."""
    kinds = sorted({f"{kind}.{group}" if group else kind for group, kind, _, _ in keys})
    items = box.kubectl_json("get", ",".join(kinds), "--all-namespaces")["items"]
    found = {_rendered_key(item): item for item in items}
    missing = [key for key in keys if key not in found]
    assert missing == [], f"synced but not in the cluster: {missing}"
    return {key: found[key] for key in keys}


def test_argo_cd_reports_the_inference_services_health_our_lua_computes(deployed: Deployed) -> None:
    """For every InferenceService of every child Application, the health the real Argo CD stores in the
    Application's status.resources equals what the health check, run with lupa as the box runs it, says of
    the same live object (KServe gives them their status); and it is the tree's check at work, not the
    pinned release's built-in one (resource_customizations/serving.kserve.io/InferenceService/health.lua),
    which says otherwise of at least one of them."""
    instances = deployed.box.kubectl_json("get", "argocds.argoproj.io", "-n", deployed.namespace)["items"]
    checks = custom_checks(instances)
    assert ("serving.kserve.io", "InferenceService") in checks, "the runbook's patch set no InferenceService health check"
    builtin = (module_source(MODULE) / "resource_customizations" / "serving.kserve.io" / "InferenceService"
               / "health.lua").read_text(encoding="utf-8")
    names = [c["metadata"]["name"] for c in deployed.children()]
    for name in names:
        _first_operation(deployed, name)
    differences: list[str] = []
    builtin_differs: list[str] = []

    def agree() -> bool:
        differences.clear()
        builtin_differs.clear()
        services = 0
        for name in names:
            for resource in deployed.application(name)["status"]["resources"]:
                if (resource.get("group"), resource["kind"]) != ("serving.kserve.io", "InferenceService"):
                    continue
                services += 1
                live = deployed.box.kubectl_json("get", "inferenceservices.serving.kserve.io", resource["name"],
                                                 "-n", resource["namespace"])
                ours = resource_health(live, checks)
                argo = resource.get("health") or {}
                if ours is None or (argo.get("status"), argo.get("message", "")) != (ours.status, ours.message):
                    differences.append(f"{resource['namespace']}/{resource['name']}: Argo CD {argo} | lupa {ours}")
                elif lua_health(live, builtin) != ours:
                    builtin_differs.append(resource["name"])
        if not services:
            differences.append("no InferenceService in any Application")
        return not differences

    wait_for("Argo CD's and lupa's health of each InferenceService agree", agree, timeout=SETTLE_TIMEOUT,
             describe=lambda: "\n".join(differences), every=2)
    assert builtin_differs, "Argo CD's built-in check says the same as ours of every InferenceService: nothing shows ours is used"


def test_an_application_aimed_at_a_namespace_its_project_does_not_allow_is_refused(deployed: Deployed) -> None:
    """Each child Application, retargeted at a namespace its AppProject does not list (another project's, when
    there is one), is refused by Argo CD with a condition naming the project; nothing is synced."""
    projects = {d["metadata"]["name"]: d for d in deployed.built(BOOTSTRAP) if d["kind"] == "AppProject"}
    for child in deployed.children():
        project = projects[child["spec"]["project"]]
        allowed = {d.get("namespace") for d in project["spec"]["destinations"]}
        elsewhere = sorted({d.get("namespace") for p in projects.values() for d in p["spec"]["destinations"]} - allowed)
        target = (elsewhere or [OUTSIDE])[0]
        assert target not in allowed and "*" not in allowed
        name = f"{child['metadata']['name']}-elsewhere"[:63]
        stray = {**child, "metadata": {**child["metadata"], "name": name},
                 "spec": {**child["spec"], "destination": {**child["spec"]["destination"], "namespace": target}}}
        deployed.box.kubectl("apply", "-f", "-", input=yaml.safe_dump(stray))
        try:
            condition = wait_for(f"Application {name} refused", partial(_invalid_spec, deployed, name), timeout=SETTLE_TIMEOUT,
                                 describe=partial(_described, deployed, name), every=2)
            assert project["metadata"]["name"] in condition["message"]
            assert target in condition["message"]
            app = deployed.application(name)
            assert "operationState" not in app.get("status", {}), _state(app)
            assert app.get("status", {}).get("sync", {}).get("status") != "Synced"
        finally:
            deployed.box.kubectl("delete", "applications.argoproj.io", name, "-n", deployed.namespace, "--wait=false")


def _invalid_spec(deployed: Deployed, name: str) -> dict[str, Any] | None:
    conditions = (deployed.application(name).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "InvalidSpecError"), None)

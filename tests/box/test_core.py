"""The core of the box (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) running the demo
fixture's tree as Argo CD syncs it: what the real API server, scheduler and controllers do with it."""

from __future__ import annotations

import copy
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from box.boxes import Served, generator_command, wait_for
from conftest import DEMO, UPSTREAM_CRDS
from generator.admission.plan import plan
from generator.sandbox.apply import FIELD_MANAGER, application_documents, wave_of
from generator.sandbox.box import Box
from generator.sandbox.build import ensure_built
from generator.sandbox.kube import Etcd, KubeApiServer
from generator.sandbox.nodes import node_documents
from generator.sandbox.replay import reset

SCRATCH = "box-core-tests"


def _documents(sandbox: Any) -> list[dict[str, Any]]:
    return application_documents(sandbox.loaded.tree, sandbox.loaded.portfolio.gitops.application)


def _live(box: Box, path: str) -> dict[str, Any]:
    status, body = box.request("GET", path)
    assert status == 200, f"GET {path}: {status} {body}"
    return dict(body)


def _service(sandbox: Any, gpus: int) -> dict[str, Any]:
    """An InferenceService of the tree whose model asks for `gpus` GPUs."""
    gpu = sandbox.loaded.portfolio.cluster.gpu_resource
    return next(d for d in _documents(sandbox) if d["kind"] == "InferenceService"
                and str(d["spec"]["predictor"]["model"]["resources"]["requests"].get(gpu)) == str(gpus))


def _predictor_pod(service: dict[str, Any], name: str) -> dict[str, Any]:
    """A pod shaped as KServe makes the predictor's: the model container's resources, the node selector and the
    tolerations of the InferenceService (the image never runs: kwok plays the kubelet). It lives in a namespace of
    the tests' own that Kueue does not manage: these tests are about the scheduler, and in the tree's serving
    namespace Kueue would queue it (test_kueue_kserve.py)."""
    predictor = service["spec"]["predictor"]
    spec: dict[str, Any] = {
        "containers": [{"name": "kserve-container", "image": "registry.invalid/vllm:box",
                        "resources": copy.deepcopy(predictor["model"]["resources"])}],
        "nodeSelector": dict(predictor.get("nodeSelector") or {}),
        "tolerations": copy.deepcopy(predictor.get("tolerations") or []),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": SCRATCH}, "spec": spec}


@pytest.fixture(scope="module", autouse=True)
def scratch_namespace(sandbox_demo: Any) -> None:
    """The tests' own namespace on the demo box, without `kueue.openshift.io/managed`."""
    sandbox_demo.box.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                                   "metadata": {"name": SCRATCH}}))


def _create(box: Box, pod: dict[str, Any]) -> str:
    path = f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods"
    status, body = box.request("POST", path, pod)
    assert status == 201, body
    return f"{path}/{pod['metadata']['name']}"


def _delete(box: Box, path: str) -> None:
    box.request("DELETE", path + "?gracePeriodSeconds=0")


def test_the_tree_is_applied_server_side_in_argo_cd_waves(sandbox_demo: Any) -> None:
    documents = _documents(sandbox_demo)
    waves = sandbox_demo.report["result"]["waves"]
    assert [w["wave"] for w in waves] == sorted({wave_of(d) for d in documents})
    for wave in waves:
        expected = sorted(f"{d['kind']} {d['metadata'].get('namespace', '') + '/' if d['metadata'].get('namespace') else ''}"
                          f"{d['metadata']['name']}" for d in documents if wave_of(d) == wave["wave"])
        assert sorted(wave["resources"]) == expected
    for wave in waves[:-1]:  # Argo CD waits for every wave but the last to be healthy
        assert wave["waited"] and {h.split(":")[0] for h in wave["health"].values()} <= {"Healthy", "no health check"}, wave
    for doc in documents:
        meta = doc["metadata"]
        group_version = doc["apiVersion"]
        base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        plural = _plural(sandbox_demo.box, group_version, doc["kind"])
        where = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
        live = _live(sandbox_demo.box, f"{base}{where}/{plural}/{meta['name']}")
        managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
        assert (FIELD_MANAGER, "Apply") in managers, f"{doc['kind']} {meta['name']}: {managers}"


def _plural(box: Box, group_version: str, kind: str) -> str:
    listed = _live(box, "/api/v1" if group_version == "v1" else f"/apis/{group_version}")
    return next(r["name"] for r in listed["resources"] if r["kind"] == kind and "/" not in r["name"])


def test_upload_claims_bind_to_volumes_of_the_tree_storage_class(sandbox_demo: Any) -> None:
    claims = [d for d in _documents(sandbox_demo) if d["kind"] == "PersistentVolumeClaim"]
    assert claims
    for claim in claims:
        meta = claim["metadata"]
        live = _live(sandbox_demo.box, f"/api/v1/namespaces/{meta['namespace']}/persistentvolumeclaims/{meta['name']}")
        assert live["status"]["phase"] == "Bound", live["status"]
        volume = _live(sandbox_demo.box, f"/api/v1/persistentvolumes/{live['spec']['volumeName']}")
        assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"]
        assert volume["spec"]["claimRef"]["name"] == meta["name"]


def test_every_job_of_the_tree_completes_with_its_pod_succeeded_on_a_cpu_worker(sandbox_demo: Any) -> None:
    jobs = [d for d in _documents(sandbox_demo) if d["kind"] == "Job"]
    assert len(jobs) >= 2  # uploads and the registration
    for job in jobs:
        meta = job["metadata"]
        live = _live(sandbox_demo.box, f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}")
        assert any(c["type"] == "Complete" and c["status"] == "True" for c in live["status"].get("conditions", [])), live["status"]
        pods = _live(sandbox_demo.box, f"/api/v1/namespaces/{meta['namespace']}/pods?labelSelector=job-name%3D{meta['name']}")
        assert [p["status"]["phase"] for p in pods["items"]] == ["Succeeded"]
        assert pods["items"][0]["spec"]["nodeName"].startswith("worker-")


def test_the_nodes_are_the_flavors_nodes_as_plan_has_them(sandbox_demo: Any) -> None:
    portfolio = sandbox_demo.loaded.portfolio
    live = {n["metadata"]["name"]: n for n in _live(sandbox_demo.box, "/api/v1/nodes")["items"]}
    assert set(live) == {n["metadata"]["name"] for n in node_documents(portfolio, sandbox_demo.loaded.tree)}
    for flavor in portfolio.flavors:
        for index in range(1, flavor.nodes + 1):
            node = live[f"{flavor.name}-{index}"]
            assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == flavor.instance_type
            assert node["metadata"]["labels"]["nvidia.com/gpu.present"] == "true"
            assert node["status"]["allocatable"][portfolio.cluster.gpu_resource] == str(flavor.gpus_per_node)
            assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
                (portfolio.cluster.gpu_taint.key, portfolio.cluster.gpu_taint.effect)}
            assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


@pytest.fixture
def no_model_running(demo: Served) -> Served:
    """The demo box with every model stopped: its GPU nodes free for pods of a test's own."""
    reset(demo.box, demo.portfolio, demo.switch(), [], lambda line: None)
    return demo


def test_a_gpu_pod_with_the_tree_toleration_runs_on_a_gpu_node_of_its_instance_type(sandbox_demo: Any,
                                                                                    no_model_running: Served) -> None:
    box = sandbox_demo.box
    service = _service(sandbox_demo, gpus=4)
    path = _create(box, _predictor_pod(service, "box-test-gpu-tolerated"))
    try:
        pod = wait_for("the pod to run", lambda: (p := _live(box, path))["status"].get("phase") == "Running" and p, timeout=60, every=0.5)
        node = _live(box, f"/api/v1/nodes/{pod['spec']['nodeName']}")
        selector = service["spec"]["predictor"]["nodeSelector"]
        assert {k: node["metadata"]["labels"].get(k) for k in selector} == selector
        flavor = next(f for f in sandbox_demo.loaded.portfolio.flavors if f.instance_type == selector["node.kubernetes.io/instance-type"])
        assert node["metadata"]["name"].startswith(f"{flavor.name}-")
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
    finally:
        _delete(box, path)


def test_a_gpu_pod_without_the_toleration_is_unschedulable_for_the_taint(sandbox_demo: Any) -> None:
    box = sandbox_demo.box
    pod = _predictor_pod(_service(sandbox_demo, gpus=1), "box-test-gpu-untolerated")
    pod["spec"]["tolerations"] = []
    path = _create(box, pod)
    try:
        scheduled = wait_for("the scheduler's verdict", lambda: next(
            (c for c in _live(box, path)["status"].get("conditions", []) if c["type"] == "PodScheduled"), None), timeout=60, every=0.5)
        assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
        assert "untolerated taint" in scheduled["message"] and "nvidia.com/gpu" in scheduled["message"]
        assert not _live(box, path)["spec"].get("nodeName")
    finally:
        _delete(box, path)


def test_a_pod_without_the_toleration_and_no_gpu_lands_on_a_cpu_worker(sandbox_demo: Any) -> None:
    box = sandbox_demo.box
    pod = _predictor_pod(_service(sandbox_demo, gpus=1), "box-test-cpu")
    pod["spec"] = {"containers": [{"name": "c", "image": "registry.invalid/c:box",
                                   "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}
    path = _create(box, pod)
    try:
        placed = wait_for("the pod to run", lambda: (p := _live(box, path))["status"].get("phase") == "Running" and p, timeout=60, every=0.5)
        assert placed["spec"]["nodeName"].startswith("worker-")
    finally:
        _delete(box, path)


def test_a_scheduling_gated_pod_stays_pending_on_no_node(sandbox_demo: Any) -> None:
    box = sandbox_demo.box
    pod = _predictor_pod(_service(sandbox_demo, gpus=1), "box-test-gated")
    pod["spec"]["schedulingGates"] = [{"name": "kueue.x-k8s.io/admission"}]
    path = _create(box, pod)
    try:
        gated = wait_for("the scheduler to see the gate", lambda: next(
            (c for c in _live(box, path)["status"].get("conditions", []) if c["type"] == "PodScheduled"), None), timeout=60, every=0.5)
        time.sleep(3)  # long enough for kwok to have acted on a pod it could see
        live = _live(box, path)
        assert (gated["status"], gated["reason"]) == ("False", "SchedulingGated")
        assert live["status"]["phase"] == "Pending" and not live["spec"].get("nodeName")
    finally:
        _delete(box, path)


def test_the_live_view_after_the_sync_is_plan_s_baseline_on_the_real_controllers(sandbox_demo: Any) -> None:
    """`sandbox` runs Kueue and KServe on the synced tree: after the sync every model is what plan's baseline says,
    read from the live Workload (admission, flavor), pod (node, phase) and InferenceService (Ready, Stopped)."""
    loaded = sandbox_demo.loaded
    snapshot = plan(loaded.portfolio, loaded.tree)
    baseline = sandbox_demo.report["result"]["baseline"]
    rows = {m["name"]: m for m in baseline["models"]}
    assert list(rows) == [m.name for m in loaded.portfolio.models]
    assert set(sandbox_demo.report["result"]["running"]) == {"kueue", "kserve"}
    assert baseline["settled"] and baseline["differences"] == [], baseline["differences"]
    for model in snapshot.models:
        row = rows[model.name]
        assert row["plan"] == {"state": model.state, "flavor": model.flavor, "node": model.node}
        live = row["live"]
        assert live["state"] == model.state, (model.name, live)
        if model.state == "admitted":
            assert (live["flavor"], live["phase"], live["ready"], live["stopped"]) == (model.flavor, "Running", "True", "False")
            assert live["node"].startswith(f"{model.flavor}-"), live
        else:
            assert (live["node"], live["phase"], live["stopped"]) == (None, "none", "True"), live
    assert sandbox_demo.report["result"]["kubeconfig"] == str(sandbox_demo.box.kubeconfig)


def test_sandbox_without_go_exits_2_and_says_how_to_install_it() -> None:
    kept = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "go").exists()]
    # the CRDs given as CI gives them (CRD_DIR): the clone's ../shared/crds need not exist, and Go is what is missing
    done = generator_command("sandbox", "--portfolio", str(DEMO), "--crd-dir", str(UPSTREAM_CRDS),
                             env={**os.environ, "PATH": os.pathsep.join(kept)}, timeout=600)
    assert done.returncode == 2, done.stderr
    assert "Go is not installed" in done.stderr and "https://go.dev/dl/" in done.stderr
    assert "Traceback" not in done.stderr


def _refused(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


def test_sandbox_down_stops_every_process_of_a_box(tmp_path: Path) -> None:
    box = Box(tmp_path / "box", bin_dir=ensure_built(lambda line: None), progress=lambda line: None)
    box.start([Etcd(), KubeApiServer()])
    pids = {p.stem: json.loads(p.read_text())["pid"] for p in (box.state / "pids").glob("*.json")}
    assert set(pids) == {"etcd", "kube-apiserver"} and box.running() == ["etcd", "kube-apiserver"]
    done = generator_command("sandbox", "down", "--state", str(box.state), timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "stopped: etcd, kube-apiserver\n"
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    assert _refused(box.port("etcd"))
    assert box.running() == []
    again = generator_command("sandbox", "down", "--state", str(box.state), timeout=600)
    assert again.stdout == "no box was running\n"

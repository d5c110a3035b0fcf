"""The real Kueue and KServe (cluster/kueue, cluster/kserve) acting on the demo fixture's tree, step by step,
beside what the generator's simulator (`plan`) says of the same steps.

The tree's Kueue objects (v1beta1, as the generator writes them: Kueue's conversion webhook turns them into its
v1beta2 storage), ServingRuntime and InferenceServices are applied in Argo CD's order to a box whose serving
namespace carries `kueue.openshift.io/managed=true`. Models are switched on and off the way the runbook does it,
with the `serving.kserve.io/stop` annotation. What each step expects is `plan`'s verdict for the same step, so a
difference between the real controllers and the simulator fails naming the model, the step, both answers.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import yaml

from conftest import DEMO, UPSTREAM_CRDS
from generator.admission.kueue import quantity
from generator.admission.plan import Cluster, Snapshot, plan
from generator.model.derive import model_namespace
from generator.pipeline import Prepared, prepare
from generator.render.common import SYNC_WAVE
from generator.sandbox.box import Box
from generator.sandbox.build import ensure_built
from generator.sandbox.kserve import KServe
from generator.sandbox.kueue import MANAGED_LABEL, Kueue
from generator.sandbox.stack import stack

ISVC = "/apis/serving.kserve.io/v1beta1"
KUEUE = "/apis/kueue.x-k8s.io/v1beta2"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
STOP = "serving.kserve.io/stop"
GATE = "kueue.x-k8s.io/admission"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
SETTLE = 180.0  # seconds for the controllers to act, on a busy 2-core machine
QUIET = 20.0  # seconds a thing that must not happen is watched for

APPLIED_KINDS = ("ResourceFlavor", "ClusterQueue", "LocalQueue", "ServingRuntime", "InferenceService")


@dataclass
class Served:
    box: Box
    loaded: Prepared
    gpu: str  # the GPU resource name
    simulator: Cluster  # the generator's simulator, taken through the same steps as the box

    def namespace(self, model: str) -> str:
        portfolio = self.loaded.portfolio
        return model_namespace(next(m for m in portfolio.models if m.name == model), portfolio)

    def get(self, path: str) -> dict[str, Any] | None:
        status, body = self.box.request("GET", path)
        if status == 404:
            return None
        assert status == 200, f"GET {path}: {status} {body}"
        return dict(body)

    def items(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        query = f"?labelSelector={urllib.parse.quote(selector)}" if selector else ""
        found = self.get(path + query)
        return list((found or {}).get("items", []))

    def isvc(self, model: str) -> dict[str, Any]:
        found = self.get(f"{ISVC}/namespaces/{self.namespace(model)}/inferenceservices/{model}")
        assert found is not None, f"InferenceService {model} is missing"
        return found

    def deployment(self, model: str) -> dict[str, Any] | None:
        return self.get(f"/apis/apps/v1/namespaces/{self.namespace(model)}/deployments/{model}-predictor")

    def hpa(self, model: str) -> dict[str, Any] | None:
        return self.get(f"/apis/autoscaling/v2/namespaces/{self.namespace(model)}/horizontalpodautoscalers/{model}-predictor")

    def pods(self, model: str) -> list[dict[str, Any]]:
        pods = self.items(f"/api/v1/namespaces/{self.namespace(model)}/pods", f"{ISVC_LABEL}={model}")
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    def workloads(self, model: str) -> list[dict[str, Any]]:
        """The Workloads Kueue made for the model's predictor pods (the pod integration: one per pod)."""
        uids = {p["metadata"]["uid"] for p in self.pods(model)}
        return [w for w in self.items(f"{KUEUE}/namespaces/{self.namespace(model)}/workloads")
                if any(o.get("uid") in uids for o in w["metadata"].get("ownerReferences", []))]

    def set_stop(self, model: str, stopped: bool) -> None:
        self.box.kubectl("annotate", "--overwrite", "-n", self.namespace(model), f"inferenceservice/{model}",
                         f"{STOP}={'true' if stopped else 'false'}")

    def node_labels(self, node: str) -> dict[str, str]:
        found = self.get(f"/api/v1/nodes/{node}")
        assert found is not None, f"Node {node} is missing"
        return dict(found["metadata"].get("labels", {}))

    def gpus_held(self) -> dict[str, int]:
        """GPUs requested by the pods bound to each node and not finished: what the scheduler counts as used."""
        held: dict[str, int] = {}
        for pod in self.items("/api/v1/pods"):
            node = pod["spec"].get("nodeName")
            if not node or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for container in pod["spec"]["containers"]:
                held[node] = held.get(node, 0) + int((container.get("resources", {}).get("requests") or {}).get(self.gpu, 0))
        return held


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


def _true(obj: dict[str, Any], kind: str) -> bool:
    return _condition(obj, kind).get("status") == "True"


def _flavor(workload: dict[str, Any], resource: str) -> str | None:
    for assignment in ((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []:
        if resource in (assignment.get("flavors") or {}):
            return str(assignment["flavors"][resource])
    return None


def _gated(pod: dict[str, Any]) -> bool:
    return any(g.get("name") == GATE for g in pod["spec"].get("schedulingGates") or [])


def _wait(what: str, check: Callable[[], Any], describe: Callable[[], str], timeout: float = SETTLE) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s; last state:\n{describe()}")
        time.sleep(1)


def _state(served: Served, model: str) -> str:
    """What the controllers show of one model, for failure messages."""
    isvc = served.isvc(model)
    return yaml.safe_dump({
        "annotations": {k: v for k, v in isvc["metadata"].get("annotations", {}).items() if k == STOP},
        "conditions": [{k: c.get(k) for k in ("type", "status", "reason")} for c in isvc.get("status", {}).get("conditions", [])],
        "deployment": bool(served.deployment(model)), "hpa": bool(served.hpa(model)),
        "pods": [{"name": p["metadata"]["name"], "node": p["spec"].get("nodeName"), "phase": p.get("status", {}).get("phase"),
                  "gates": [g["name"] for g in p["spec"].get("schedulingGates") or []],
                  "nodeSelector": p["spec"].get("nodeSelector")} for p in served.pods(model)],
        "workloads": [{"name": w["metadata"]["name"], "flavor": _flavor(w, served.gpu),
                       "conditions": {c["type"]: c["status"] for c in w.get("status", {}).get("conditions", [])}}
                      for w in served.workloads(model)],
        "gpus held per node": served.gpus_held(),
    }, sort_keys=False)


def _wave(document: dict[str, Any]) -> int:
    return int(document["metadata"].get("annotations", {}).get(SYNC_WAVE, "0"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A box with Kueue and KServe, and the demo fixture's Kueue objects, runtime and models applied by wave."""
    loaded = prepare(DEMO, display_name="portfolio.yaml")
    box = Box(tmp_path_factory.mktemp("box"), bin_dir=ensure_built())
    box.start([*stack(loaded.portfolio, loaded.tree, [UPSTREAM_CRDS]).components, Kueue(), KServe()])
    try:
        documents = [d for docs in loaded.tree.values() for d in docs if d.get("kind") in APPLIED_KINDS]
        for wave in sorted({_wave(d) for d in documents}):
            box.kubectl("apply", "--server-side", "--field-manager=box-test", "-f", "-",
                        input=yaml.safe_dump_all([d for d in documents if _wave(d) == wave], sort_keys=False))
        yield Served(box, loaded, loaded.portfolio.cluster.gpu_resource, Cluster(loaded.portfolio, loaded.tree))
    finally:
        box.stop()


def _admitted_as_planned(served: Served, snapshot: Snapshot, step: str) -> None:
    """Every model `plan` admits has one admitted Workload on plan's flavor and a pod Running on a node of that
    flavor; every model it leaves pending has a gated pod, an unadmitted Workload and no node."""
    flavors = {f.name: f for f in served.loaded.portfolio.flavors}
    for expected in snapshot.models:
        model = expected.name
        if expected.state == "admitted":
            def admitted(model: str = model, flavor: str | None = expected.flavor) -> bool:
                workloads, pods = served.workloads(model), served.pods(model)
                return (len(workloads) == 1 and _true(workloads[0], "Admitted") and _flavor(workloads[0], served.gpu) == flavor
                        and len(pods) == 1 and pods[0].get("status", {}).get("phase") == "Running")
            _wait(f"{step}: {model}: plan admits it on {expected.flavor}; the box should too, its pod Running",
                  admitted, lambda model=model: _state(served, model))
            pod = served.pods(model)[0]
            node = pod["spec"]["nodeName"]
            instance_type = flavors[str(expected.flavor)].instance_type
            assert served.node_labels(node).get(INSTANCE_TYPE) == instance_type, \
                f"{step}: {model} runs on {node}, not on a {instance_type} node of flavor {expected.flavor}"
            assert node == expected.node, f"{step}: {model} runs on {node}; plan places it on {expected.node}"
            assert not _gated(pod)
        elif expected.state == "pending":
            def waiting(model: str = model) -> bool:
                workloads, pods = served.workloads(model), served.pods(model)
                return (len(pods) == 1 and _gated(pods[0]) and not pods[0]["spec"].get("nodeName")
                        and len(workloads) == 1 and not _true(workloads[0], "QuotaReserved"))
            _wait(f"{step}: {model}: plan leaves it pending; the box should keep its pod gated with a Workload",
                  waiting, lambda model=model: _state(served, model))
        elif expected.state == "off":
            _wait(f"{step}: {model}: plan has it off; the box should have no predictor pod",
                  lambda model=model: not served.pods(model) and served.deployment(model) is None,
                  lambda model=model: _state(served, model))


def _no_gpu_pending(served: Served, snapshot: Snapshot, step: str) -> None:
    """The GPUs bound on each node are exactly those of the models `plan` admits: a pending model holds none."""
    admitted = [m for m in snapshot.models if m.state == "admitted"]
    gpus = {m.name: m.gpus for m in snapshot.models}
    expected: dict[str, int] = {}
    for model in admitted:
        node = served.pods(model.name)[0]["spec"]["nodeName"]
        expected[node] = expected.get(node, 0) + gpus[model.name]
    held = {node: n for node, n in served.gpus_held().items() if n}
    assert held == expected, f"{step}: GPUs held per node {held}, but the admitted models account for {expected}"


def _handover(served: Served) -> tuple[list[str], list[str]]:
    """The models the demo's resource-handover scenario enables and disables."""
    scenario = next(s for s in served.loaded.portfolio.scenarios if s.name == "resource-handover")
    return [m for step in scenario.steps for m in step.enable], [m for step in scenario.steps for m in step.disable]


def test_the_tree_s_serving_namespace_is_managed_by_kueue(served: Served) -> None:
    for namespace in {served.namespace(m.name) for m in served.loaded.portfolio.models}:
        found = served.get(f"/api/v1/namespaces/{namespace}")
        assert found is not None and found["metadata"]["labels"].get(MANAGED_LABEL) == "true", namespace


def test_the_tree_s_v1beta1_kueue_objects_are_stored_as_kueue_s_v1beta2(served: Served) -> None:
    """The generator writes kueue.x-k8s.io/v1beta1; Kueue's conversion webhook stores v1beta2, whose names differ
    (flavor fungibility's `Borrow` and `Preempt` are `MayStopSearch`, `cohort` is `cohortName`). The mapping is one
    way (apis/kueue/v1beta1/clusterqueue_conversion.go): read back as v1beta1, the object says `MayStopSearch`, so
    a tree that writes `Borrow` differs from the live object for as long as it lives (Argo CD: OutOfSync)."""
    queues = [d for docs in served.loaded.tree.values() for d in docs if d.get("kind") == "ClusterQueue"]
    assert queues and all(q["apiVersion"] == "kueue.x-k8s.io/v1beta1" for q in queues)
    spellings = {"Borrow": "MayStopSearch", "Preempt": "MayStopSearch"}
    for written in queues:
        stored = served.get(f"{KUEUE}/clusterqueues/{written['metadata']['name']}")
        assert stored is not None, written["metadata"]["name"]
        for field, value in (written["spec"].get("flavorFungibility") or {}).items():
            assert stored["spec"]["flavorFungibility"][field] == spellings.get(value, value), (field, value, stored["spec"])
        assert stored["spec"].get("cohortName") == written["spec"].get("cohort"), stored["spec"]
        assert _true(stored, "Active"), yaml.safe_dump(stored.get("status"))
        read_back = served.get(f"/apis/kueue.x-k8s.io/v1beta1/clusterqueues/{written['metadata']['name']}")
        assert read_back is not None
        assert read_back["spec"].get("flavorFungibility") == stored["spec"].get("flavorFungibility"), read_back["spec"]


def test_baseline_kueue_admits_the_active_models_as_plan_does(served: Served) -> None:
    """An active model gets a Deployment; its pod is queued (a Workload), admitted on plan's flavor and Running
    on a node of that flavor's instance type."""
    snapshot = served.simulator.snapshot()
    active = [m.name for m in snapshot.models if m.state != "off"]
    assert active, "the demo fixture has active models"
    for model in active:
        deployment = _wait(f"{model}: active, KServe should make its predictor Deployment",
                           lambda model=model: served.deployment(model), lambda model=model: _state(served, model))
        assert deployment["spec"]["template"]["metadata"]["labels"].get(QUEUE_LABEL) == \
            served.isvc(model)["metadata"]["labels"][QUEUE_LABEL]
    _admitted_as_planned(served, snapshot, "baseline")
    _no_gpu_pending(served, snapshot, "baseline")


def test_kueue_counts_every_container_of_a_model_pod_the_simulator_counts_the_predictor(served: Served) -> None:
    """Kueue's Workload for a predictor pod takes from the quota what the whole pod requests: the predictor container plus the
    containers KServe adds (kube-rbac-proxy when `security.opendatahub.io/enable-auth` is true, the modelcar for an
    OCI model). The GPUs are the model's either way; the simulator (generator/admission/plan.py, model_workload)
    counts the predictor container only, so its cpu and memory fall short by the sidecars' requests."""
    models = [m.name for m in served.simulator.snapshot().models if m.state == "admitted"]
    assert models
    for model in models:
        pod = served.pods(model)[0]
        workloads = served.workloads(model)
        assert len(workloads) == 1, _state(served, model)
        requested = _workload_requests(workloads[0])
        simulated = served.simulator.pods[model].requests
        containers = {c["name"]: _requests(c) for c in pod["spec"]["containers"]}
        predictor = containers.pop("kserve-container")
        assert requested[served.gpu] == simulated[served.gpu] == predictor[served.gpu], (requested, simulated)
        for resource in ("cpu", "memory"):
            sidecars = sum((r.get(resource, Decimal(0)) for r in containers.values()), Decimal(0))
            assert requested[resource] == predictor[resource] + sidecars, (model, resource, requested, containers)
            assert simulated[resource] == predictor[resource], (model, resource, simulated)
        if served.isvc(model)["metadata"].get("annotations", {}).get("security.opendatahub.io/enable-auth") == "true":
            assert "kube-rbac-proxy" in containers and requested["cpu"] > simulated["cpu"], (model, containers)


def _requests(container: dict[str, Any]) -> dict[str, Decimal]:
    resources = container.get("resources") or {}
    found = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}  # a limit alone is the request
    return {name: quantity(str(value)) for name, value in found.items()}


def _workload_requests(workload: dict[str, Any]) -> dict[str, Decimal]:
    """What an admitted Workload's one pod set takes from the quota (status.admission's resourceUsage)."""
    found = ((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []
    assert len(found) == 1, yaml.safe_dump(workload.get("status"))
    return {name: quantity(str(value)) for name, value in found[0]["resourceUsage"].items()}


def test_a_model_created_stopped_never_gets_a_deployment(served: Served) -> None:
    stopped = [m.name for m in plan(served.loaded.portfolio, served.loaded.tree).models if m.state == "off"]
    assert stopped, "the demo fixture declares queued (stopped) models"
    for model in stopped:
        _wait(f"{model}: created stopped, KServe should report Stopped=True",
              lambda model=model: _true(served.isvc(model), "Stopped"), lambda model=model: _state(served, model))
        isvc = served.isvc(model)
        assert _condition(isvc, "Ready").get("status") == "False", _state(served, model)
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:  # "never": nothing appears while the controllers keep reconciling
        for model in stopped:
            assert served.deployment(model) is None and served.hpa(model) is None and not served.pods(model), \
                _state(served, model)
        time.sleep(1)


def test_an_update_under_a_full_quota_deadlocks_as_a_rolling_update_and_goes_through_as_recreate(served: Served) -> None:
    """The demo's rolling-update story on the real controllers: change a running model while its flavor is full.
    With RollingUpdate the new pod waits, gated, for the quota the old pod holds (and the old pod keeps running);
    with the Recreate strategy the tree renders, the old pod goes first and the new one is admitted, as `plan` says."""
    scenario = next(s for s in served.loaded.portfolio.scenarios if s.name == "rolling-update")
    model = next(m for step in scenario.steps for m in step.update)
    namespace = served.namespace(model)

    def change(strategy: str, arg: str) -> None:
        patch = [{"op": "replace", "path": "/spec/predictor/deploymentStrategy", "value": {"type": strategy}},
                 {"op": "add", "path": "/spec/predictor/model/args/-", "value": arg}]
        served.box.kubectl("patch", "-n", namespace, f"inferenceservice/{model}", "--type=json", "-p", json.dumps(patch))

    rolling = served.simulator.apply(update=[model], strategy="RollingUpdate")
    assert rolling.model(model).state == "pending", "plan should leave the rolling update's new pod pending"
    change("RollingUpdate", "--max-num-seqs=64")

    def deadlocked() -> bool:
        pods = served.pods(model)
        running = [p for p in pods if p.get("status", {}).get("phase") == "Running" and p["spec"].get("nodeName")]
        waiting = [p for p in pods if _gated(p) and not p["spec"].get("nodeName")]
        return len(pods) == 2 and len(running) == 1 and len(waiting) == 1
    _wait(f"RollingUpdate of {model} under a full quota: the new pod should wait gated beside the running one",
          deadlocked, lambda: _state(served, model))
    time.sleep(QUIET)
    assert deadlocked(), f"the rolling update should stay stuck:\n{_state(served, model)}"

    recreated = served.simulator.apply(update=[model])
    change("Recreate", "--max-num-seqs=32")
    _admitted_as_planned(served, recreated, f"update {model} with Recreate")
    _no_gpu_pending(served, recreated, f"update {model} with Recreate")
    assert all("--max-num-seqs=32" in c.get("args", []) for p in served.pods(model) for c in p["spec"]["containers"]
               if c["name"] == "kserve-container"), _state(served, model)


def test_the_handover_a_queued_model_waits_holding_no_gpu_until_a_stop_frees_its_quota(served: Served) -> None:
    """The demo's handover, on the real controllers: enable a 4-GPU model while the 4-GPU flavor is full (it stays
    pending, its pod gated, no GPU held), then stop the running one (KServe deletes its Deployment and HPA and
    reports Stopped; Kueue admits the waiting one on the freed flavor)."""
    enabled, disabled = _handover(served)
    assert enabled and disabled, "the handover scenario enables one model and disables another"

    first = served.simulator.apply(enable=enabled)
    for model in enabled:
        served.set_stop(model, False)
    _admitted_as_planned(served, first, f"enable {', '.join(enabled)}")
    for model in enabled:
        assert first.model(model).state == "pending", f"plan should keep {model} pending while the quota is full"
        isvc = served.isvc(model)
        assert _condition(isvc, "Ready").get("status") == "False", f"{model} waits for quota: Ready must be False"
    _no_gpu_pending(served, first, f"enable {', '.join(enabled)}")

    second = served.simulator.apply(disable=disabled)
    for model in disabled:
        served.set_stop(model, True)
    for model in disabled:
        def stopped(model: str = model) -> bool:
            isvc = served.isvc(model)
            ready = _condition(isvc, "Ready")
            return (served.deployment(model) is None and served.hpa(model) is None and _true(isvc, "Stopped")
                    and ready.get("status") == "False" and ready.get("reason") == "Stopped")
        _wait(f"stop {model}: KServe should delete the Deployment and HPA, Ready=False (Stopped), Stopped=True",
              stopped, lambda model=model: _state(served, model))
    _admitted_as_planned(served, second, f"disable {', '.join(disabled)}")
    _no_gpu_pending(served, second, f"disable {', '.join(disabled)}")


def test_a_stopped_model_started_again_under_a_full_quota_waits_not_stopped_and_not_ready(served: Served) -> None:
    """After the handover, start the stopped model again: KServe makes its Deployment and HPA anew and reports
    Stopped=False, and while Kueue keeps its pod gated (the quota is taken) Ready stays False, as `plan` has it."""
    _, disabled = _handover(served)
    snapshot = served.simulator.apply(enable=disabled)
    assert all(snapshot.model(m).state == "pending" for m in disabled), "plan should keep the restarted model pending"
    for model in disabled:
        served.set_stop(model, False)
    for model in disabled:
        def restarted(model: str = model) -> bool:
            isvc = served.isvc(model)
            return (served.deployment(model) is not None and served.hpa(model) is not None
                    and _condition(isvc, "Stopped").get("status") == "False" and _condition(isvc, "Ready").get("status") == "False")
        _wait(f"start {model} again: KServe should recreate its Deployment and HPA, Stopped=False, Ready=False",
              restarted, lambda model=model: _state(served, model))
    _admitted_as_planned(served, snapshot, f"enable {', '.join(disabled)} again")
    _no_gpu_pending(served, snapshot, f"enable {', '.join(disabled)} again")


def test_a_pod_in_a_namespace_without_the_managed_label_is_not_queued(served: Served) -> None:
    """The queue label alone does nothing outside a managed namespace: no gate, no Workload; the pod runs."""
    namespace = "box-unmanaged"
    queue = served.loaded.portfolio.kueue.local_queue
    served.box.kubectl("create", "namespace", namespace)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "plain", "namespace": namespace, "labels": {QUEUE_LABEL: queue}},
           "spec": {"containers": [{"name": "main", "image": "registry.invalid/box:1",
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
    served.box.kubectl("apply", "-f", "-", input=yaml.safe_dump(pod))
    try:
        found = _wait("a pod in an unmanaged namespace should run without waiting for Kueue",
                      lambda: (p if (p := served.get(f"/api/v1/namespaces/{namespace}/pods/plain"))
                               and p.get("status", {}).get("phase") == "Running" else None),
                      lambda: yaml.safe_dump(served.get(f"/api/v1/namespaces/{namespace}/pods/plain")))
        assert not _gated(found)
        assert served.items(f"{KUEUE}/namespaces/{namespace}/workloads") == []
    finally:
        served.box.kubectl("delete", "namespace", namespace, "--wait=false")

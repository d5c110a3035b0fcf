"""The real Kueue and KServe (cluster/kueue, cluster/kserve) acting on the demo fixture's tree, on the tier's shared
demo box: what each controller does with the tree's objects, beside what the generator's simulator (`plan`) says.

The scenarios themselves (models switched on and off step by step) are replayed in test_replay.py; here, the
controllers' own behaviour: Kueue's v1beta1 conversion, its namespace selector and what it counts, KServe's
validator under the box's one deviation, its stop annotation. The module starts from plan's baseline
(`Served.baseline()`: every model stopped, then the active ones started in the portfolio's order).
"""

from __future__ import annotations

import copy
import http.client
import json
import ssl
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import yaml

from box.boxes import Boxes, Sandbox, wait_for
from generator.admission.kueue import quantity
from generator.admission.plan import Cluster, Snapshot, plan
from generator.admission.pods import AUTH_ANNOTATION, predictor_pod_spec
from generator.model.derive import model_namespace
from generator.pipeline import Prepared
from generator.sandbox.box import Box
from generator.sandbox.kserve import DEPLOYMENT_MODE, ISVC_VALIDATOR_PATH, LEGACY_MODE, NOT_LEGACY_MODE, UPSTREAM_MODE
from generator.sandbox.kueue import MANAGED_LABEL

ISVC = "/apis/serving.kserve.io/v1beta1"
KUEUE = "/apis/kueue.x-k8s.io/v1beta2"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
STOP = "serving.kserve.io/stop"
GATE = "kueue.x-k8s.io/admission"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
SETTLE = 180.0  # seconds for the controllers to act, on a busy 2-core machine
QUIET = 20.0  # seconds a thing that must not happen is watched for


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


@pytest.fixture(scope="module")
def served(sandbox_demo: Sandbox, boxes: Boxes) -> Served:
    """The tier's demo box at plan's baseline."""
    loaded = sandbox_demo.loaded
    shared = boxes.get(loaded.portfolio, loaded.tree, "demo")
    return Served(shared.box, loaded, loaded.portfolio.cluster.gpu_resource, shared.baseline())


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
            wait_for(f"{step}: {model}: plan admits it on {expected.flavor}; the box should too, its pod Running",
                     admitted, describe=lambda model=model: _state(served, model), timeout=SETTLE)
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
            wait_for(f"{step}: {model}: plan leaves it pending; the box should keep its pod gated with a Workload",
                     waiting, describe=lambda model=model: _state(served, model), timeout=SETTLE)
        elif expected.state == "off":
            wait_for(f"{step}: {model}: plan has it off; the box should have no predictor pod",
                     lambda model=model: not served.pods(model) and served.deployment(model) is None,
                     describe=lambda model=model: _state(served, model), timeout=SETTLE)


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
        deployment = wait_for(f"{model}: active, KServe should make its predictor Deployment",
                              lambda model=model: served.deployment(model), describe=lambda model=model: _state(served, model), timeout=SETTLE)
        assert deployment["spec"]["template"]["metadata"]["labels"].get(QUEUE_LABEL) == \
            served.isvc(model)["metadata"]["labels"][QUEUE_LABEL]
    _admitted_as_planned(served, snapshot, "baseline")
    _no_gpu_pending(served, snapshot, "baseline")


def test_kueue_charges_the_whole_pod_kserve_makes_as_the_simulator_does_plus_openshift_ais_proxy(served: Served) -> None:
    """Kueue's Workload for a predictor pod takes from the quota what the whole pod requests: the predictor container
    and the containers KServe adds. Upstream KServe (the box's) adds the ModelCar (a container `modelcar` and an init
    container `modelcar-init`, OpenShift AI's inferenceservice-config: 10m cpu, 15Mi) to a model served from `oci://`
    and the storage initializer (an init container) to one served from S3, and nothing for auth. OpenShift AI's KServe
    adds the same and, with `security.opendatahub.io/enable-auth: "true"`, kube-rbac-proxy (100m cpu, 64Mi), which the
    box cannot show (cluster/README.md, read at the fork's source). The simulator (generator.admission.pods) charges
    the pod OpenShift AI makes: the box's containers, and the proxy for an authenticated model."""
    models = [m.name for m in served.simulator.snapshot().models if m.state == "admitted"]
    served_from_oci, authenticated = [], []
    for model in models:
        pod = served.pods(model)[0]
        workloads = served.workloads(model)
        assert len(workloads) == 1, _state(served, model)
        requested = _workload_requests(workloads[0])
        simulated = served.simulator.pods[model].requests
        containers = {c["name"]: _requests(c) for c in pod["spec"]["containers"]}
        predictor = containers.pop("kserve-container")
        isvc = served.isvc(model)
        oci = str(isvc["spec"]["predictor"]["model"]["storageUri"]).startswith("oci://")
        auth = (isvc["metadata"].get("annotations") or {}).get(AUTH_ANNOTATION) == "true"
        served_from_oci += [model] if oci else []
        authenticated += [model] if auth else []
        assert set(containers) == ({"modelcar"} if oci else set()), (model, sorted(containers))
        modelled = predictor_pod_spec(isvc)
        assert [c["name"] for c in pod["spec"].get("initContainers") or []] == \
            [c["name"] for c in modelled.get("initContainers") or []], (model, pod["spec"].get("initContainers"))
        assert requested[served.gpu] == simulated[served.gpu] == predictor[served.gpu], (requested, simulated)
        proxy = {"cpu": Decimal("0.1"), "memory": quantity("64Mi")} if auth else {}
        for resource in ("cpu", "memory"):
            added = sum((r.get(resource, Decimal(0)) for r in containers.values()), Decimal(0))
            assert requested[resource] == predictor[resource] + added, (model, resource, requested, containers)
            assert simulated[resource] == requested[resource] + proxy.get(resource, Decimal(0)), (model, resource, simulated)
        if oci:
            assert containers["modelcar"] == {"cpu": Decimal("0.01"), "memory": quantity("15Mi")}, containers
    assert served_from_oci, "no running model of the demo is served from oci://: the ModelCar is not exercised"
    assert authenticated, "no running model of the demo asks for auth: the proxy is not exercised"


def _review(served: Served, isvc: dict[str, Any], old: dict[str, Any] | None) -> tuple[bool, str]:
    """KServe's InferenceService validator, called as the API server calls it: (allowed, its message)."""
    request = {"uid": str(uuid.uuid4()), "operation": "UPDATE" if old else "CREATE",
               "kind": {"group": "serving.kserve.io", "version": "v1beta1", "kind": "InferenceService"},
               "resource": {"group": "serving.kserve.io", "version": "v1beta1", "resource": "inferenceservices"},
               "name": isvc["metadata"]["name"], "namespace": isvc["metadata"]["namespace"],
               "userInfo": {"username": "box-test"}, "object": isvc, "oldObject": old}
    context = ssl.create_default_context(cadata=served.box.certs.ca_pem.decode())
    connection = http.client.HTTPSConnection("127.0.0.1", served.box.port("kserve-webhook"), context=context, timeout=30)
    try:
        connection.request("POST", ISVC_VALIDATOR_PATH, json.dumps({"apiVersion": "admission.k8s.io/v1",
                                                                     "kind": "AdmissionReview", "request": request}),
                           {"Content-Type": "application/json"})
        response = json.loads(connection.getresponse().read())["response"]
    finally:
        connection.close()
    return bool(response["allowed"]), str((response.get("status") or {}).get("message", ""))


def _mode(isvc: dict[str, Any], mode: str) -> dict[str, Any]:
    changed = copy.deepcopy(isvc)
    changed["metadata"]["annotations"][DEPLOYMENT_MODE] = mode
    return changed


def test_kserve_s_validator_accepts_the_tree_under_upstream_s_mode_name(served: Served) -> None:
    """The box's one deviation from OpenShift AI's KServe (cluster/README.md): upstream's InferenceService validator is
    registered with a match condition that leaves out the InferenceServices annotated `RawDeployment`, the name
    OpenShift AI's KServe and the tree give the mode. Called directly with each of the tree's InferenceServices as
    the box holds them (defaulted by KServe's own webhook; the controller has recorded `Standard` in the status):
    under upstream's name `Standard` each is accepted when created and when updated with the stop annotation flipped,
    so the validator finds nothing else to refuse; under `RawDeployment` upstream refuses both, which is why the
    deviation exists. When an upstream release accepts the legacy name, this test fails and the deviation can go."""
    [registered] = [w for w in served.box.kubectl_json("get", "validatingwebhookconfiguration",
                                                       "inferenceservice.serving.kserve.io")["webhooks"]]
    assert registered["matchConditions"] == [NOT_LEGACY_MODE]
    services = [d for docs in served.loaded.tree.values() for d in docs if d.get("kind") == "InferenceService"]
    assert services and all(s["metadata"]["annotations"][DEPLOYMENT_MODE] == LEGACY_MODE for s in services)
    for written in services:
        live = served.isvc(written["metadata"]["name"])
        assert live["metadata"]["annotations"][DEPLOYMENT_MODE] == LEGACY_MODE  # nothing wrote it back
        assert live["status"]["deploymentMode"] == UPSTREAM_MODE, live["status"]
        flipped = copy.deepcopy(live)
        stop = flipped["metadata"]["annotations"][STOP]
        flipped["metadata"]["annotations"][STOP] = "false" if stop == "true" else "true"
        for new, old in ((live, None), (flipped, live)):
            assert _review(served, _mode(new, UPSTREAM_MODE), old and _mode(old, UPSTREAM_MODE)) == (True, ""), new["metadata"]["name"]
        allowed, message = _review(served, live, None)
        assert not allowed and "deploymentStrategy is only supported for raw deployment mode" in message, message
        allowed, message = _review(served, flipped, live)
        assert not allowed and f"cannot be changed from '{UPSTREAM_MODE}' to '{LEGACY_MODE}'" in message, message


def _requests(container: dict[str, Any]) -> dict[str, Decimal]:
    resources = container.get("resources") or {}
    found = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}  # a limit alone is the request
    return {name: quantity(str(value)) for name, value in found.items()}


def _workload_requests(workload: dict[str, Any]) -> dict[str, Decimal]:
    """What an admitted Workload's one pod set takes from the quota (status.admission's resourceUsage)."""
    found = ((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []
    assert len(found) == 1, yaml.safe_dump(workload.get("status"))
    return {name: quantity(str(value)) for name, value in found[0]["resourceUsage"].items()}


def test_a_stopped_model_never_gets_a_deployment(served: Served) -> None:
    """The models plan has off at baseline (created stopped by the sync, or stopped since by a replay) report
    Stopped=True and Ready=False, and no Deployment, HPA or pod appears while KServe keeps reconciling."""
    stopped = [m.name for m in plan(served.loaded.portfolio, served.loaded.tree).models if m.state == "off"]
    assert stopped, "the demo fixture declares queued (stopped) models"
    for model in stopped:
        wait_for(f"{model}: stopped, KServe should report Stopped=True",
                 lambda model=model: _true(served.isvc(model), "Stopped"), describe=lambda model=model: _state(served, model), timeout=SETTLE)
        isvc = served.isvc(model)
        assert _condition(isvc, "Ready").get("status") == "False", _state(served, model)
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:  # "never": nothing appears while the controllers keep reconciling
        for model in stopped:
            assert served.deployment(model) is None and served.hpa(model) is None and not served.pods(model), \
                _state(served, model)
        time.sleep(1)


def test_stop_deletes_the_predictor_s_deployment_and_hpa_and_a_start_makes_them_again(served: Served) -> None:
    """`serving.kserve.io/stop: "true"` on a running model (as the runbook sets it): KServe deletes its Deployment and
    HPA, its pod goes, Ready=False (Stopped), Stopped=True (FACTS, read at the fork's source; upstream v0.16.0 does
    the same in RawDeployment mode). Set back to "false" with room in the quota: the Deployment and HPA are made
    again, Stopped=False, and the model runs on its flavor again, as plan has it."""
    snapshot = served.simulator.snapshot()
    model = next(m for m in snapshot.models if m.state == "admitted")
    served.set_stop(model.name, True)

    def stopped() -> bool:
        isvc = served.isvc(model.name)
        ready = _condition(isvc, "Ready")
        return (served.deployment(model.name) is None and served.hpa(model.name) is None and not served.pods(model.name)
                and _true(isvc, "Stopped") and ready.get("status") == "False" and ready.get("reason") == "Stopped")
    wait_for(f"stop {model.name}: KServe should delete the Deployment and HPA, Ready=False (Stopped), Stopped=True",
             stopped, describe=lambda: _state(served, model.name), timeout=SETTLE)

    served.set_stop(model.name, False)

    def restarted() -> bool:
        isvc = served.isvc(model.name)
        return (served.deployment(model.name) is not None and served.hpa(model.name) is not None
                and _condition(isvc, "Stopped").get("status") == "False" and _true(isvc, "Ready"))
    wait_for(f"start {model.name} again: KServe should make its Deployment and HPA again, Stopped=False, Ready=True",
             restarted, describe=lambda: _state(served, model.name), timeout=SETTLE)
    _admitted_as_planned(served, snapshot, f"{model.name} stopped and started again")
    _no_gpu_pending(served, snapshot, f"{model.name} stopped and started again")


def test_a_pod_without_a_queue_label_in_the_serving_namespace_joins_the_local_queue_named_default(served: Served) -> None:
    """Kueue v0.16 makes a LocalQueue named `default` the default queue of its namespace (the feature gate
    LocalQueueDefaulting, beta and on by default since v0.12; pkg/controller/jobs/pod/pod_webhook.go): in a managed
    namespace that has one, a pod without `kueue.x-k8s.io/queue-name` is labelled with it, gated and queued, a
    CPU-only pod too. The demo names its LocalQueue `default` (`kueue.localQueue`), so every pod of its serving
    namespace joins the queue with no annotation at all (Kueue v0.16 knows no `kueue.x-k8s.io/default-queue`
    annotation, which KUEUE004 warns about)."""
    queue = served.loaded.portfolio.kueue.local_queue
    assert queue == "default", "the demo names its LocalQueue default"
    namespace = served.namespace(served.loaded.portfolio.models[0].name)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "box-unlabelled", "namespace": namespace},
           "spec": {"containers": [{"name": "main", "image": "registry.invalid/box:1",
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
    status, made = served.box.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    assert status == 201, made
    try:
        assert made["metadata"]["labels"].get(QUEUE_LABEL) == queue, made["metadata"]
        assert _gated(made), made["spec"].get("schedulingGates")
        wait_for("Kueue should make a Workload for the unlabelled pod",
                 lambda: [w for w in served.items(f"{KUEUE}/namespaces/{namespace}/workloads")
                          if any(o.get("uid") == made["metadata"]["uid"] for o in w["metadata"].get("ownerReferences", []))],
                 describe=lambda: yaml.safe_dump(served.get(f"/api/v1/namespaces/{namespace}/pods/box-unlabelled")), timeout=SETTLE)
    finally:
        served.box.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/box-unlabelled?gracePeriodSeconds=0")


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
        found = wait_for("a pod in an unmanaged namespace should run without waiting for Kueue",
                         lambda: (p if (p := served.get(f"/api/v1/namespaces/{namespace}/pods/plain"))
                                  and p.get("status", {}).get("phase") == "Running" else None),
                         describe=lambda: yaml.safe_dump(served.get(f"/api/v1/namespaces/{namespace}/pods/plain")), timeout=SETTLE)
        assert not _gated(found)
        assert served.items(f"{KUEUE}/namespaces/{namespace}/workloads") == []
    finally:
        served.box.kubectl("delete", "namespace", namespace, "--wait=false")

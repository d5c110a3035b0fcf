"""The predictor pod of an InferenceService as the simulator charges it: the model container (vLLM, `kserve-container`)
with its resources, and the fields Kueue and the scheduler read (node selector, affinity, tolerations, priority).

The one definition both sides of a differential run use: the simulator charges a model this pod's requests
(generator.admission.plan.model_workload, KUEUE.md rule 1), and the differential run's stand-in for KServe
(generator.sandbox.standin) creates this pod, so the real Kueue charges the same containers.

The whole pod, as OpenShift AI 3.0's KServe builds it, because Kueue charges the whole pod (KUEUE.md rule 1): beside
the model container, a model served from `s3://` gets the storage initializer (an init container, 100m and 100Mi
requested), a model served from `oci://` a ModelCar (a container `modelcar` and an init container `modelcar-init`,
10m and 15Mi each; kserve pkg/utils/storage.go ConfigureModelcarToContainer), and a model annotated
`security.opendatahub.io/enable-auth: "true"` the `kube-rbac-proxy` container OpenShift AI's fork adds (100m and 64Mi
requested; cluster/README.md names its source). The values are OpenShift AI's inferenceservice-config; the box's
KServe reads the first two from here (generator.sandbox.kserve). Upstream KServe, which the box runs, adds no proxy:
the box's pods of an authenticated model ask 100m and 64Mi less than these, and than OpenShift AI's.
"""

from __future__ import annotations

from typing import Any

MODEL_CONTAINER = "kserve-container"  # KServe's InferenceServiceContainerName
AUTH_ANNOTATION = "security.opendatahub.io/enable-auth"
# OpenShift AI 3.0's inferenceservice-config (odh-v3.0 overlay): the storage initializer's and the ModelCar's resources.
STORAGE_INITIALIZER = {"cpuRequest": "100m", "cpuLimit": "1", "memoryRequest": "100Mi", "memoryLimit": "24Gi"}
MODELCAR = {"cpuModelcar": "10m", "memoryModelcar": "15Mi"}
# Its `oauthProxy` entry: the kube-rbac-proxy beside an authenticated model.
AUTH_PROXY = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def _modelcar_resources() -> dict[str, Any]:
    both = {"cpu": MODELCAR["cpuModelcar"], "memory": MODELCAR["memoryModelcar"]}
    return {"requests": dict(both), "limits": dict(both)}


def _added_by_kserve(service: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The containers and init containers OpenShift AI's KServe puts beside the model container."""
    uri = str(((service["spec"]["predictor"].get("model") or {}).get("storageUri")) or "")
    containers: list[dict[str, Any]] = []
    inits: list[dict[str, Any]] = []
    if uri.startswith("oci://"):
        containers.append({"name": "modelcar", "resources": _modelcar_resources()})
        inits.append({"name": "modelcar-init", "resources": _modelcar_resources()})
    elif uri.startswith("s3://"):
        inits.append({"name": "storage-initializer", "resources": {
            "requests": {"cpu": STORAGE_INITIALIZER["cpuRequest"], "memory": STORAGE_INITIALIZER["memoryRequest"]},
            "limits": {"cpu": STORAGE_INITIALIZER["cpuLimit"], "memory": STORAGE_INITIALIZER["memoryLimit"]}}})
    if (service["metadata"].get("annotations") or {}).get(AUTH_ANNOTATION) == "true":
        containers.append({"name": "kube-rbac-proxy", "resources": {k: dict(v) for k, v in AUTH_PROXY.items()}})
    return containers, inits


def predictor_pod_spec(service: dict[str, Any]) -> dict[str, Any]:
    """The predictor's pod spec as OpenShift AI's KServe makes it, as far as admission reads it: every container with
    its resources, node selector, affinity, tolerations and priority."""
    predictor = service["spec"]["predictor"]
    model = predictor.get("model") or {}
    container: dict[str, Any] = {"name": MODEL_CONTAINER}
    if model.get("resources"):
        container["resources"] = model["resources"]
    containers, inits = _added_by_kserve(service)
    spec: dict[str, Any] = {"containers": [container, *containers]}
    if inits:
        spec["initContainers"] = inits
    for field in ("nodeSelector", "affinity", "tolerations", "priorityClassName", "priority"):
        if predictor.get(field) not in (None, {}, []):
            spec[field] = predictor[field]
    return spec

"""The predictor pod of an InferenceService as OpenShift AI's KServe builds it in RawDeployment mode: the fields Kueue
and the scheduler read (containers with their resources, init containers, node selector, affinity, tolerations,
priority).

Kueue charges the whole pod (KUEUE.md rule 1), so the pod holds the containers KServe adds beside vLLM:
- a model served from `oci://` gets KServe's ModelCar: a container `modelcar` and an init container `modelcar-init`,
  each asking (and limited to) the `cpuModelcar` and `memoryModelcar` of inferenceservice-config (OpenShift AI:
  10m and 15Mi; kserve pkg/utils/storage.go ConfigureModelcarToContainer), on both OpenShift AI and upstream KServe;
- a model with `security.opendatahub.io/enable-auth: "true"` gets OpenShift AI's `kube-rbac-proxy` (the fork's
  deployment reconciler, addOauthContainerToDeployment, with the ConfigMap's `oauthProxy` resources: requests 100m and
  64Mi, limits 200m and 128Mi; cluster/README.md). Upstream KServe, which the box runs, adds none.
The storage initializer of an `s3://` model is an init container below the model container's requests (100m, 100Mi),
so it never raises the pod's requests and is left out.

The simulator charges a model this pod's requests (generator.admission.plan.model_workload); the differential run's
stand-in for KServe (generator.sandbox.standin) creates the same pod, so the real Kueue charges the same containers.
"""

from __future__ import annotations

from typing import Any

MODEL_CONTAINER = "kserve-container"  # KServe's InferenceServiceContainerName
AUTH_ANNOTATION = "security.opendatahub.io/enable-auth"
OCI_PREFIX = "oci://"
MODELCAR_RESOURCES = {"requests": {"cpu": "10m", "memory": "15Mi"}, "limits": {"cpu": "10m", "memory": "15Mi"}}
RBAC_PROXY_RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def predictor_pod_spec(service: dict[str, Any]) -> dict[str, Any]:
    """The pod spec KServe writes for the predictor on OpenShift AI (only the fields admission reads)."""
    predictor = service["spec"]["predictor"]
    model = predictor.get("model") or {}
    container: dict[str, Any] = {"name": MODEL_CONTAINER}
    if model.get("resources"):
        container["resources"] = model["resources"]
    spec: dict[str, Any] = {"containers": [container]}
    if str(model.get("storageUri") or "").startswith(OCI_PREFIX):
        spec["containers"].append({"name": "modelcar", "resources": MODELCAR_RESOURCES})
        spec["initContainers"] = [{"name": "modelcar-init", "resources": MODELCAR_RESOURCES}]
    if ((service["metadata"].get("annotations") or {}).get(AUTH_ANNOTATION)) == "true":
        spec["containers"].append({"name": "kube-rbac-proxy", "resources": RBAC_PROXY_RESOURCES})
    for field in ("nodeSelector", "affinity", "tolerations", "priorityClassName", "priority"):
        if predictor.get(field) not in (None, {}, []):
            spec[field] = predictor[field]
    return spec

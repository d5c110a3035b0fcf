"""The predictor pod of an InferenceService as the simulator charges it: the model container (vLLM, `kserve-container`)
with its resources, and the fields Kueue and the scheduler read (node selector, affinity, tolerations, priority).

The one definition both sides of a differential run use: the simulator charges a model this pod's requests
(generator.admission.plan.model_workload, KUEUE.md rule 1), and the differential run's stand-in for KServe
(generator.sandbox.standin) creates this pod, so the real Kueue charges the same containers.

What it leaves out, on purpose. Kueue charges the whole pod, and KServe adds containers beside vLLM: a model served
from `oci://` gets a ModelCar (a container `modelcar` and an init container `modelcar-init`, 10m and 15Mi each with
OpenShift AI's inferenceservice-config; kserve pkg/utils/storage.go ConfigureModelcarToContainer), and with
`security.opendatahub.io/enable-auth: "true"` OpenShift AI's KServe adds `kube-rbac-proxy` (requests 100m and 64Mi;
cluster/README.md). They add CPU and memory, never a GPU, and the tree's CPU quota is what the GPU nodes hold, so they
change an admission only where a model asks for (nearly) all of its share of a node's CPU or memory. The stand-in
leaves them out too, so the comparison is about the container the simulator counts.
"""

from __future__ import annotations

from typing import Any

MODEL_CONTAINER = "kserve-container"  # KServe's InferenceServiceContainerName


def predictor_pod_spec(service: dict[str, Any]) -> dict[str, Any]:
    """The predictor's pod spec as the simulator charges it (only the fields admission reads)."""
    predictor = service["spec"]["predictor"]
    model = predictor.get("model") or {}
    container: dict[str, Any] = {"name": MODEL_CONTAINER}
    if model.get("resources"):
        container["resources"] = model["resources"]
    spec: dict[str, Any] = {"containers": [container]}
    for field in ("nodeSelector", "affinity", "tolerations", "priorityClassName", "priority"):
        if predictor.get(field) not in (None, {}, []):
            spec[field] = predictor[field]
    return spec

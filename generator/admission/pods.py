"""The predictor pod of an InferenceService, as KServe builds it in RawDeployment mode: the fields Kueue and the
scheduler read (containers and their resources, init containers, node selector, affinity, tolerations, priority).

The simulator charges a model the requests of this pod (KUEUE.md rule 1); the differential run's stand-in for KServe
(generator.sandbox.differential) creates the same pod template, so both count the same containers.
"""

from __future__ import annotations

from typing import Any

MODEL_CONTAINER = "kserve-container"  # KServe's InferenceServiceContainerName


def predictor_pod_spec(service: dict[str, Any]) -> dict[str, Any]:
    """The pod spec KServe's deployment reconciler writes for the predictor (only the fields admission reads)."""
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

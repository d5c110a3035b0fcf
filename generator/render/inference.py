"""One KServe InferenceService per model, served by vLLM in RawDeployment mode."""

from __future__ import annotations

from generator.model.derive import (
    MODEL_SERVER,
    hardware_profile,
    is_stopped,
    model_namespace,
    model_resources,
    mounts_api_token,
    node_selector,
    storage_tier,
    storage_uri,
    vllm_args,
)
from generator.model.portfolio import Model, Portfolio
from generator.render.common import (
    Document,
    env_list,
    gpu_toleration,
    metadata,
    restricted_container_security,
    restricted_pod_security,
    secret_env,
)

STOP_ANNOTATION = "serving.kserve.io/stop"


def inference_service(model: Model, portfolio: Portfolio) -> Document:
    gpu = portfolio.cluster.gpu_resource
    resources = model_resources(model, portfolio)
    profile = hardware_profile(model, portfolio)
    assert resources is not None and profile is not None  # guaranteed by rules PF004 and PF009
    annotations = {
        **model.annotations,
        "openshift.io/display-name": model.display_name,
        "opendatahub.io/genai-use-case": model.use_case,
        "opendatahub.io/hardware-profile-name": profile.name,
        "opendatahub.io/hardware-profile-namespace": portfolio.cluster.hardware_profile_namespace,
        "opendatahub.io/model-type": "generative",
        # With auth OpenShift AI puts the model behind kube-rbac-proxy: a caller needs `get` on this InferenceService.
        "security.opendatahub.io/enable-auth": "true" if model.auth else "false",
        "serving.kserve.io/deploymentMode": "RawDeployment",
        # Off means off: with "true" KServe deletes the predictor Deployment and its HPA and reports Stopped;
        # minReplicas 0 alone still runs one pod, because the default HPA raises the floor to 1.
        STOP_ANNOTATION: "true" if is_stopped(model) else "false",
    }
    labels = {
        "opendatahub.io/dashboard": "true",
        "opendatahub.io/genai-asset": "true",
        "kueue.x-k8s.io/queue-name": portfolio.kueue.local_queue,
    }
    if model.exposure == "exposed":
        labels["networking.kserve.io/visibility"] = "exposed"  # a Route outside the cluster
    if model.priority:
        labels["kueue.x-k8s.io/priority-class"] = model.priority
    model_spec: Document = {
        "modelFormat": {"name": "vLLM"},
        "runtime": portfolio.runtime.name,
        "storageUri": storage_uri(model, portfolio),
    }
    if storage_tier(model, portfolio) == "s3":
        model_spec["storage"] = {"key": portfolio.storage.s3.connection_secret}
    model_spec["args"] = vllm_args(model, portfolio)
    env = env_list(portfolio.model_defaults.env) + [secret_env(name, ref.secret, ref.key) for name, ref in model.secret_env.items()]
    if env:
        model_spec["env"] = env
    model_spec["securityContext"] = restricted_container_security()
    model_spec["resources"] = {
        "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory, gpu: str(model.gpus)},
        "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory, gpu: str(model.gpus)},
    }
    predictor: Document = {
        "minReplicas": 1,
        "maxReplicas": portfolio.model_defaults.max_replicas,
        # Under a full quota a rolling update deadlocks: the new pod waits for the old pod's quota.
        "deploymentStrategy": {"type": "Recreate"},
        "serviceAccountName": MODEL_SERVER,
        "automountServiceAccountToken": mounts_api_token(model),
        "securityContext": restricted_pod_security(),
    }
    selector = node_selector(model, portfolio)
    if selector:
        predictor["nodeSelector"] = selector
    predictor["tolerations"] = [gpu_toleration(portfolio)]
    predictor["model"] = model_spec
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(model.name, namespace=model_namespace(model, portfolio), labels=labels,
                             annotations=annotations, wave="inference"),
        "spec": {"predictor": predictor},
    }


def render_inference(portfolio: Portfolio) -> dict[str, list[Document]]:
    return {f"{model.name}.yaml": [inference_service(model, portfolio)] for model in portfolio.models}

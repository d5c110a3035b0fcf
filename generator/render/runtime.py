"""The vLLM ServingRuntime shared by every model."""

from __future__ import annotations

from generator.model.derive import serving_namespaces
from generator.model.portfolio import Portfolio
from generator.render.common import Document, metadata, restricted_container_security

PORT = 8080


def serving_runtime(portfolio: Portfolio, namespace: str) -> Document:
    runtime = portfolio.runtime
    gpu = portfolio.cluster.gpu_resource
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": metadata(
            runtime.name,
            namespace=namespace,
            labels={"opendatahub.io/dashboard": "true"},
            annotations={
                "openshift.io/display-name": runtime.display_name,
                "opendatahub.io/apiProtocol": "REST",
                "opendatahub.io/recommended-accelerators": f'["{gpu}"]',
                # Without both template annotations the dashboard lists the runtime as "Unknown Serving Runtime".
                "opendatahub.io/template-name": "vllm-cuda-runtime",
                "opendatahub.io/template-display-name": runtime.display_name,
            },
            wave="serving-runtime",
        ),
        "spec": {
            "annotations": {
                "prometheus.io/path": "/metrics",
                "prometheus.io/port": str(PORT),
                "opendatahub.io/kserve-runtime": "vllm",
            },
            "multiModel": False,
            "supportedModelFormats": [{"name": "vLLM", "autoSelect": True}],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": runtime.image,
                    "command": ["python", "-m", "vllm.entrypoints.openai.api_server"],
                    "args": [f"--port={PORT}", "--model=/mnt/models", "--served-model-name={{.Name}}"],
                    "env": [{"name": "HF_HOME", "value": "/tmp/hf_home"}],
                    "ports": [{"containerPort": PORT, "protocol": "TCP"}],
                    "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
                    "securityContext": restricted_container_security(),
                }
            ],
            "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": runtime.shm_size}}],
        },
    }


def render_runtime(portfolio: Portfolio) -> dict[str, list[Document]]:
    # ServingRuntimes are namespaced: each serving namespace has its own.
    return {f"{portfolio.runtime.name}.yaml": [serving_runtime(portfolio, ns) for ns in serving_namespaces(portfolio)]}

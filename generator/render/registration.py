"""Model Registry registration: a Job registers every model with its real storage URI (with teams, one per team, in its
namespace, for its own models); a long list is cut in shards, each a ConfigMap and a Job of its own."""

from __future__ import annotations

import json

from generator.model.derive import registrations, storage_tier, storage_uri
from generator.model.portfolio import Model, Portfolio
from generator.render.common import Document, content_named, job_pod, job_queue_labels, metadata, service_account
from generator.render.limits import wire_json
from generator.render.scripts import script

CONFIGMAP = "model-registration"
# The escaped models.json of one ConfigMap: with register.py and Argo CD's last-applied copy of the whole object,
# its annotations stay well below the API server's 256 KiB (render/limits.py).
SHARD_BYTES = 160 * 1024
JOB = "register-models"
SERVICE_ACCOUNT = "model-registration"  # calls the Model Registry's REST API, never the Kubernetes API
COMPONENT = {"app.kubernetes.io/component": "model-registration"}


def registration_entry(model: Model, portfolio: Portfolio) -> dict[str, object]:
    props = {
        "display_name": model.display_name,
        "provider": model.provider,
        "use_case": model.use_case,
        "precision": model.precision,
        "gpus": str(model.gpus),
        "size_gb": f"{model.size_gb:g}",
        "storage_tier": str(storage_tier(model, portfolio)),
    }
    if model.vllm.max_model_len:
        props["context_length"] = str(model.vllm.max_model_len)
    return {
        "name": model.name,
        "description": model.description or f"{model.display_name}: {model.use_case}",
        "owner": portfolio.model_registry.owner,
        "version": "1",
        "uri": storage_uri(model, portfolio),
        "properties": props,
    }


def shards(entries: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """The entries in order, cut where a shard's models.json would pass SHARD_BYTES (an entry larger than that alone
    makes a shard of its own, which the API server's limits then refuse with its position)."""
    cut: list[list[dict[str, object]]] = [[]]
    size = 0
    for entry in entries:
        cost = len(wire_json({"": json.dumps(entry, indent=2, sort_keys=True)}).encode())
        if cut[-1] and size + cost > SHARD_BYTES:
            cut.append([])
            size = 0
        cut[-1].append(entry)
        size += cost
    return cut


def shard_name(base: str, index: int) -> str:
    """The first shard keeps the plain name, so a portfolio that fits one ConfigMap keeps its tree."""
    return base if index == 0 else f"{base}-{index + 1}"


def registration_configmap(namespace: str, entries: list[dict[str, object]], index: int = 0) -> Document:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(shard_name(CONFIGMAP, index), namespace=namespace, labels=COMPONENT, wave="model-registration"),
        "data": {
            "models.json": json.dumps(entries, indent=2, sort_keys=True) + "\n",
            "register.py": script("register.py"),
        },
    }


def registration_job(portfolio: Portfolio, config: Document, index: int = 0) -> Document:
    namespace = config["metadata"]["namespace"]
    container = {
        "name": "register",
        "image": portfolio.jobs.image,
        "command": ["python3", "/opt/registration/register.py"],
        "env": [
            {"name": "REGISTRY_URL", "value": portfolio.model_registry.url},
            {"name": "MODELS_FILE", "value": "/opt/registration/models.json"},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "volumeMounts": [{"name": "registration", "mountPath": "/opt/registration", "readOnly": True}],
    }
    spec: Document = {
        "backoffLimit": portfolio.jobs.backoff_limit,
        "activeDeadlineSeconds": portfolio.jobs.active_deadline_seconds,
        "template": job_pod(service_account_name=SERVICE_ACCOUNT, labels=COMPONENT, container=container,
                            volumes=[{"name": "registration", "configMap": {"name": config["metadata"]["name"]}}]),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(content_named(shard_name(JOB, index), spec, config["data"]), namespace=namespace,
                             labels={**COMPONENT, **job_queue_labels(portfolio)}, wave="model-registration"),
        "spec": spec,
    }


def render_registration(portfolio: Portfolio) -> dict[str, list[Document]]:
    """Per Job namespace (the registry's, or each team's with its own models), one ConfigMap and one Job per shard of
    its model list: each stays far below the API server's limits."""
    groups = registrations(portfolio)
    sharded = [(index, registration_configmap(namespace, entries, index)) for namespace, models in groups
               for index, entries in enumerate(shards([registration_entry(m, portfolio) for m in models]))]
    return {
        "service-account.yaml": [service_account(SERVICE_ACCOUNT, namespace=namespace, labels=COMPONENT,
                                                 wave="model-registration") for namespace, _ in groups],
        "registration-config.yaml": [config for _, config in sharded],
        "register-models.yaml": [registration_job(portfolio, config, index) for index, config in sharded],
    }

"""Model Registry registration: one Job for every model (with teams, one per team, in its namespace), with each
model's real storage URI."""

from __future__ import annotations

import json

from generator.model.derive import registrations, storage_tier, storage_uri
from generator.model.portfolio import Model, Portfolio
from generator.render.common import Document, content_named, job_pod, job_queue_labels, metadata, service_account
from generator.render.scripts import script

CONFIGMAP = "model-registration"
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


def registration_configmap(portfolio: Portfolio, namespace: str, models: list[Model]) -> Document:
    entries = [registration_entry(m, portfolio) for m in models]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(CONFIGMAP, namespace=namespace, labels=COMPONENT, wave="model-registration"),
        "data": {
            "models.json": json.dumps(entries, indent=2, sort_keys=True) + "\n",
            "register.py": script("register.py"),
        },
    }


def registration_job(portfolio: Portfolio, config: Document) -> Document:
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
                            volumes=[{"name": "registration", "configMap": {"name": CONFIGMAP}}]),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(content_named(JOB, spec, config["data"]), namespace=namespace,
                             labels={**COMPONENT, **job_queue_labels(portfolio)}, wave="model-registration"),
        "spec": spec,
    }


def render_registration(portfolio: Portfolio) -> dict[str, list[Document]]:
    """One registration per Job namespace: the portfolio's registry namespace, or each team's (its own models)."""
    groups = registrations(portfolio)
    configs = [registration_configmap(portfolio, namespace, models) for namespace, models in groups]
    return {
        "service-account.yaml": [service_account(SERVICE_ACCOUNT, namespace=namespace, labels=COMPONENT,
                                                 wave="model-registration") for namespace, _ in groups],
        "registration-config.yaml": configs,
        "register-models.yaml": [registration_job(portfolio, config) for config in configs],
    }

"""Model uploads: one shared uploader script, and one PVC and Job per distinct S3 weights."""

from __future__ import annotations

import json

from generator.model.derive import Upload, uploads
from generator.model.portfolio import Portfolio
from generator.render.common import Document, content_named, job_pod, job_queue_labels, metadata, secret_env, service_account
from generator.render.scripts import script

UPLOADER_CONFIGMAP = "model-uploader"
SERVICE_ACCOUNT = "model-upload"  # talks to Hugging Face and S3, never to the Kubernetes API
COMPONENT = {"app.kubernetes.io/component": "model-upload"}


def uploader_configmap(namespace: str) -> Document:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(UPLOADER_CONFIGMAP, namespace=namespace, labels=COMPONENT, wave="model-upload"),
        "data": {"upload.py": script("upload.py")},
    }


def volume_claim(upload: Upload, portfolio: Portfolio) -> Document:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(upload.name, namespace=upload.namespace, labels=COMPONENT, wave="model-upload"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": portfolio.storage.s3.storage_class,
            "resources": {"requests": {"storage": upload.volume_size}},
        },
    }


def upload_job(upload: Upload, portfolio: Portfolio) -> Document:
    s3 = portfolio.storage.s3
    hf = portfolio.hugging_face
    labels = {**COMPONENT, "gpuaas.opendatahub.io/s3-prefix": upload.prefix.replace("/", ".")}
    env = [
        {"name": "HF_REPO", "value": upload.hugging_face},
        {"name": "S3_ENDPOINT", "value": s3.endpoint},
        {"name": "S3_BUCKET", "value": s3.bucket},
        {"name": "S3_PREFIX", "value": upload.prefix},
        {"name": "WORK_DIR", "value": "/data/weights"},
        {"name": "HF_HOME", "value": "/data/hf-home"},
        {"name": "HOME", "value": "/data"},
        secret_env("AWS_ACCESS_KEY_ID", s3.credentials_secret, "AWS_ACCESS_KEY_ID"),
        secret_env("AWS_SECRET_ACCESS_KEY", s3.credentials_secret, "AWS_SECRET_ACCESS_KEY"),
        secret_env("HF_TOKEN", hf.token_secret, hf.token_key, optional=True),
    ]
    if upload.allow_patterns is not None:
        env.append({"name": "HF_ALLOW_PATTERNS", "value": json.dumps(list(upload.allow_patterns))})
    if upload.ignore_patterns is not None:
        env.append({"name": "HF_IGNORE_PATTERNS", "value": json.dumps(list(upload.ignore_patterns))})
    container = {
        "name": "upload",
        "image": portfolio.jobs.image,
        "command": ["python3", "/opt/uploader/upload.py"],
        "env": env,
        "resources": {
            "requests": portfolio.jobs.upload_resources.requests.model_dump(),
            "limits": portfolio.jobs.upload_resources.limits.model_dump(),
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "uploader", "mountPath": "/opt/uploader", "readOnly": True},
        ],
    }
    spec: Document = {
        "backoffLimit": portfolio.jobs.backoff_limit,
        "activeDeadlineSeconds": portfolio.jobs.active_deadline_seconds,
        "template": job_pod(service_account_name=SERVICE_ACCOUNT, labels=labels, container=container, volumes=[
            {"name": "data", "persistentVolumeClaim": {"claimName": upload.name}},
            {"name": "uploader", "configMap": {"name": UPLOADER_CONFIGMAP}},
        ]),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(content_named(upload.name, spec, script("upload.py")), namespace=upload.namespace,
                             labels={**labels, **job_queue_labels(portfolio)},
                             annotations={"gpuaas.opendatahub.io/models": ",".join(upload.models)}, wave="model-upload"),
        "spec": spec,
    }


def render_upload(portfolio: Portfolio) -> dict[str, list[Document]]:
    found = uploads(portfolio)
    if not found:
        return {}
    namespaces = list(dict.fromkeys(u.namespace for u in found))
    files = {
        "service-account.yaml": [service_account(SERVICE_ACCOUNT, namespace=ns, labels=COMPONENT, wave="model-upload")
                                 for ns in namespaces],
        "uploader-script.yaml": [uploader_configmap(ns) for ns in namespaces],
    }
    for upload in found:  # with teams one file per weights, with each team's PVC and Job (each to its team's folder)
        files.setdefault(f"{upload.name}.yaml", []).extend([volume_claim(upload, portfolio), upload_job(upload, portfolio)])
    return files

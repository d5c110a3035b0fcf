"""Annotations a portfolio may add to an InferenceService, and the ones it may not.

The generator owns the order and the hooks of the sync (Argo CD's annotations), how KServe deploys and guards a
model, and every annotation it derives from a typed field: a model's `annotations` that named one of them would
silently reorder the sync (sync-wave 3 -> -10 puts the model before its queue), turn the model into a hook, open it
without authentication, or be overwritten without a word.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.diagnostics import Problem
from generator.model.portfolio import Portfolio
from generator.output.scalars import go_yaml_v3_non_string

ARGO_CD_PREFIX = "argocd.argoproj.io/"
# Why each Argo CD annotation is the generator's; any other key under the prefix is refused with the general reason.
ARGO_CD_KEYS = {
    "argocd.argoproj.io/sync-wave": "the generator orders the sync: queues, uploads, runtime, models last (a model "
                                    "before its LocalQueue is never admitted, one before its weights never loads)",
    "argocd.argoproj.io/hook": "a hook is not part of the Application's resources: Argo CD deletes and re-creates it "
                               "at every sync and never prunes it, and a hook that waits can hang the sync",
    "argocd.argoproj.io/hook-delete-policy": "it only applies to hooks, which the tree does not use",
    "argocd.argoproj.io/sync-options": "it changes how Argo CD applies, replaces or prunes the object (Prune=false, "
                                       "Replace=true, ServerSideApply=...): the generator sets it where the tree needs it",
    "argocd.argoproj.io/compare-options": "it hides differences from Argo CD (IgnoreExtraneous): drift in a model would "
                                          "go unseen",
    "argocd.argoproj.io/tracking-id": "Argo CD writes it to know which Application owns the object",
}
ARGO_CD_REASON = "annotations under argocd.argoproj.io/ steer Argo CD's sync, which the generator orders"
# KServe and OpenShift AI keys with a meaning the tree depends on, and the annotations the generator derives itself.
OWNED = {
    "serving.kserve.io/deploymentMode": "the tree serves in RawDeployment mode; Serverless needs Knative and another "
                                        "health, quota and exposure story",
    "security.opendatahub.io/enable-auth": "it is set from models[].auth (false opens the model to anyone who reaches "
                                           "it, SEC005)",
    "serving.kserve.io/stop": "it is set from models[].state (queued: stopped)",
    "openshift.io/display-name": "it is set from models[].displayName",
    "opendatahub.io/genai-use-case": "it is set from models[].useCase",
    "opendatahub.io/hardware-profile-name": "it is derived from the flavors that can hold the model",
    "opendatahub.io/hardware-profile-namespace": "it is set from cluster.hardwareProfileNamespace",
    "opendatahub.io/model-type": "the generator serves generative models",
}
KSERVE_INTERNAL_PREFIX = "internal.serving.kserve.io/"


def reason_owned(key: str) -> str | None:
    """Why a portfolio may not set the annotation `key`, or None when it may."""
    if key in ARGO_CD_KEYS:
        return ARGO_CD_KEYS[key]
    if key.startswith(ARGO_CD_PREFIX):
        return ARGO_CD_REASON
    if key.startswith(KSERVE_INTERNAL_PREFIX):
        return "KServe keeps its own state under internal.serving.kserve.io/"
    return OWNED.get(key)


def annotations_the_generator_owns(portfolio: Portfolio) -> Iterator[Problem]:
    """ANN001: a model's annotations may not set what orders the sync or decides how KServe serves and guards it."""
    for index, model in enumerate(portfolio.models):
        for key in model.annotations:
            reason = reason_owned(key)
            if reason is not None:
                yield Problem(("models", index, "annotations", key), "ANN001",
                              f"{key} is the generator's: {reason}; remove it", at_key=True)


def annotation_keys_stay_strings(portfolio: Portfolio) -> Iterator[Problem]:
    """ANN002: kustomize writes annotation keys back without quotes, so a key that YAML reads as a number, a boolean, a
    timestamp or null (true, 0o17, 1e3, 2024-01-01) makes `kustomize build` fail on the whole object."""
    for index, model in enumerate(portfolio.models):
        for key in model.annotations:
            if go_yaml_v3_non_string(key):
                yield Problem(("models", index, "annotations", key), "ANN002",
                              f"annotation key {key!r} is read as a number, a boolean, a timestamp or null by kustomize "
                              "(Argo CD's renderer), which writes annotation keys back unquoted and then fails on the object; "
                              f"give the key a prefix (example.com/{key})",
                              at_key=True)

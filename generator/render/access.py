"""Who may call each model: its callers' ServiceAccounts, and a Role allowing `get` on that one InferenceService.

With `security.opendatahub.io/enable-auth: "true"` OpenShift AI puts the model behind kube-rbac-proxy, which asks
the API server whether the caller's token may `get` the InferenceService (a SubjectAccessReview).
"""

from __future__ import annotations

from generator.model.derive import model_callers
from generator.model.portfolio import Portfolio
from generator.render.common import Document, metadata

COMPONENT = {"app.kubernetes.io/component": "model-access"}


def caller_accounts(portfolio: Portfolio) -> list[Document]:
    names = list(dict.fromkeys(c for m in portfolio.models for c in model_callers(m, portfolio)))
    return [{"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": metadata(name, namespace=portfolio.namespace, labels=COMPONENT, wave="model-access"),
             "automountServiceAccountToken": False} for name in names]


def caller_role(model: str, portfolio: Portfolio) -> Document:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(f"{model}-caller", namespace=portfolio.namespace, labels=COMPONENT, wave="model-access"),
        "rules": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "resourceNames": [model],
                   "verbs": ["get"]}],
    }


def caller_binding(model: str, callers: list[str], portfolio: Portfolio) -> Document:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(f"{model}-callers", namespace=portfolio.namespace, labels=COMPONENT, wave="model-access"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{model}-caller"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": portfolio.namespace} for name in callers],
    }


def render_access(portfolio: Portfolio) -> dict[str, list[Document]]:
    files: dict[str, list[Document]] = {}
    accounts = caller_accounts(portfolio)
    if accounts:
        files["callers.yaml"] = accounts
    for model in portfolio.models:
        callers = model_callers(model, portfolio)
        if callers:
            files[f"{model.name}.yaml"] = [caller_role(model.name, portfolio), caller_binding(model.name, callers, portfolio)]
    return files

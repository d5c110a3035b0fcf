"""Who may call each model (its callers' ServiceAccounts, and a Role allowing `get` on that one InferenceService), and
who the model itself runs as.

With `security.opendatahub.io/enable-auth: "true"` OpenShift AI puts the model behind kube-rbac-proxy, which asks
the API server whether the caller's token may `get` the InferenceService (a SubjectAccessReview).

The predictors run as `model-server`, one ServiceAccount per serving namespace, not as the namespace's `default`:
for a model with auth, odh-model-controller binds the predictor's ServiceAccount to system:auth-delegator (a
ClusterRoleBinding <namespace>-<account>-auth-delegator) so the proxy may review tokens; on `default` that right
would go to every pod of the namespace that runs as `default`. One per namespace rather than one per model: vLLM
calls no Kubernetes API, so the account carries no right but that one, and 5,000 models make 20 accounts and 20
cluster-wide bindings, not 5,000.
"""

from __future__ import annotations

from generator.model.derive import MODEL_SERVER, model_callers, model_namespace, serving_namespaces
from generator.model.portfolio import Portfolio
from generator.render.common import Document, metadata

COMPONENT = {"app.kubernetes.io/component": "model-access"}


def caller_accounts(portfolio: Portfolio) -> list[Document]:
    """Each caller ServiceAccount once per namespace whose models it may call."""
    wanted: dict[str, dict[str, None]] = {ns: {} for ns in serving_namespaces(portfolio)}
    for model in portfolio.models:
        wanted[model_namespace(model, portfolio)].update(dict.fromkeys(model_callers(model, portfolio)))
    return [{"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": metadata(name, namespace=namespace, labels=COMPONENT, wave="model-access"),
             "automountServiceAccountToken": False} for namespace, names in wanted.items() for name in names]


def model_server_accounts(portfolio: Portfolio) -> list[Document]:
    """The predictors' ServiceAccount in each serving namespace; a pod mounts its token only when it says so."""
    return [{"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": metadata(MODEL_SERVER, namespace=namespace, labels=COMPONENT, wave="model-access"),
             "automountServiceAccountToken": False} for namespace in serving_namespaces(portfolio)]


def caller_role(model: str, namespace: str) -> Document:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(f"{model}-caller", namespace=namespace, labels=COMPONENT, wave="model-access"),
        "rules": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "resourceNames": [model],
                   "verbs": ["get"]}],
    }


def caller_binding(model: str, callers: list[str], namespace: str) -> Document:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(f"{model}-callers", namespace=namespace, labels=COMPONENT, wave="model-access"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{model}-caller"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace} for name in callers],
    }


def render_access(portfolio: Portfolio) -> dict[str, list[Document]]:
    files: dict[str, list[Document]] = {f"{MODEL_SERVER}.yaml": model_server_accounts(portfolio)}
    accounts = caller_accounts(portfolio)
    if accounts:
        files["callers.yaml"] = accounts
    for model in portfolio.models:
        callers = model_callers(model, portfolio)
        if callers:
            namespace = model_namespace(model, portfolio)
            files[f"{model.name}.yaml"] = [caller_role(model.name, namespace), caller_binding(model.name, callers, namespace)]
    return files

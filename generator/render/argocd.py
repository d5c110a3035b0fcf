"""Argo CD: the Application that syncs the serving tree, listed by the app-of-apps, and the bootstrap an
administrator applies once (the root Application, the AppProject, the controller's RBAC); the InferenceService
health check is merged into the ArgoCD instance by a JSON patch (the runbook's deploy section)."""

from __future__ import annotations

from generator.model.portfolio import Portfolio
from generator.render.common import Document, Tree, metadata
from generator.render.inference import STOP_ANNOTATION
from generator.render.scripts import script

APP_OF_APPS_DIR = "gitops/argocd/app-of-apps"
BOOTSTRAP_DIR = "gitops/argocd/bootstrap"
# No PruneLast: it prunes in a wave after the last one, which would wait for the InferenceServices' health.
SYNC_OPTIONS = ["CreateNamespace=false"]
# Only where no wave waits on a resource that can fail. A retry is a new attempt, and with this option it skips every
# resource already equal to Git: a failed upload or registration Job among them, so the later waves (the models that
# need its weights) would be applied on the first retry (gitops-engine sync_context.go filterOutOfSyncTasks).
OUT_OF_SYNC_ONLY = "ApplyOutOfSyncOnly=true"
RETRY = {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
# Cluster-scoped kinds the serving tree may hold, with the resource name RBAC uses for each.
CLUSTER_SCOPED = {
    ("", "Namespace"): "namespaces",
    ("kueue.x-k8s.io", "ResourceFlavor"): "resourceflavors",
    ("kueue.x-k8s.io", "ClusterQueue"): "clusterqueues",
    ("kueue.x-k8s.io", "WorkloadPriorityClass"): "workloadpriorityclasses",
}
MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def serving_tree_path(portfolio: Portfolio) -> str:
    return f"gitops/{portfolio.gitops.application}/base"


def overlay_path(portfolio: Portfolio, environment: str) -> str:
    return f"gitops/{portfolio.gitops.application}/overlays/{environment}"


def controller_service_account(portfolio: Portfolio) -> str:
    """The application controller's ServiceAccount, named after the ArgoCD instance by the operator."""
    return f"{portfolio.gitops.argocd_instance}-argocd-application-controller"


def _application(portfolio: Portfolio, *, name: str, path: str, namespace: str, server: str | None = None,
                 ignore: list[Document] | None = None, jobs: bool) -> Document:
    """An Application of this repository: `path` synced into `namespace`, automated with retries. With `jobs` (its
    path holds Jobs that later waves need) every attempt applies every resource, so a failed Job fails each attempt."""
    gitops = portfolio.gitops
    options = list(SYNC_OPTIONS) if jobs else [*SYNC_OPTIONS, OUT_OF_SYNC_ONLY]
    spec: Document = {
        "project": gitops.project,
        "source": {"repoURL": gitops.repo_url, "targetRevision": gitops.target_revision, "path": path},
        "destination": {"server": server or gitops.destination_server, "namespace": namespace},
    }
    if ignore:
        # Without RespectIgnoreDifferences a sync would still write Git's value over the ignored field.
        spec["ignoreDifferences"] = ignore
        options.append("RespectIgnoreDifferences=true")
    spec["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": options, "retry": RETRY}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(name, namespace=gitops.argocd_namespace),
        "spec": spec,
    }


def live_toggle_ignore() -> list[Document]:
    """Exactly the stop annotation of the InferenceServices, for operators who stop and start models live."""
    pointer = "/metadata/annotations/" + STOP_ANNOTATION.replace("~", "~0").replace("/", "~1")
    return [{"group": "serving.kserve.io", "kind": "InferenceService", "jsonPointers": [pointer]}]


def application(portfolio: Portfolio) -> Document:
    """The serving tree's Application, listed by the app-of-apps."""
    return _application(portfolio, name=portfolio.gitops.application, path=serving_tree_path(portfolio),
                        namespace=portfolio.namespace,
                        ignore=live_toggle_ignore() if portfolio.gitops.live_toggle else None, jobs=True)


def environment_applications(portfolio: Portfolio) -> list[Document]:
    """With environments, one Application per cluster, each syncing its overlay there (and none for the base)."""
    return [_application(portfolio, name=f"{portfolio.gitops.application}-{env.name}", path=overlay_path(portfolio, env.name),
                         namespace=portfolio.namespace, server=env.destination_server,
                         ignore=live_toggle_ignore() if portfolio.gitops.live_toggle else None, jobs=True)
            for env in portfolio.environments]


def root_application(portfolio: Portfolio) -> Document:
    """The one Application applied by hand: it syncs the app-of-apps folder, which lists the rest."""
    gitops = portfolio.gitops
    return _application(portfolio, name=gitops.app_of_apps, path=APP_OF_APPS_DIR, namespace=gitops.argocd_namespace,
                        jobs=False)


HEALTH_CHECKS = "/spec/resourceHealthChecks"


def health_check_entry() -> Document:
    """The ArgoCD instance's custom health check for InferenceService: one entry of `spec.resourceHealthChecks`,
    which the OpenShift GitOps operator writes into argocd-cm as resource.customizations.health.<group>_<kind>."""
    return {"group": "serving.kserve.io", "kind": "InferenceService", "check": script("inferenceservice-health.lua")}


def health_check_patch() -> list[Document]:
    """A JSON patch (RFC 6902) that appends the entry and leaves every other entry of the instance's list in place.
    Applying a partial ArgoCD object instead would replace the whole list: the administrator's checks would go."""
    return [{"op": "add", "path": f"{HEALTH_CHECKS}/-", "value": health_check_entry()}]


def cluster_scoped_kinds(serving: Tree) -> dict[str, list[str]]:
    """API group -> the RBAC resources of the cluster-scoped kinds the serving tree holds."""
    found: dict[str, list[str]] = {}
    for documents in serving.values():
        for doc in documents:
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            resource = CLUSTER_SCOPED.get((group, str(doc.get("kind"))))
            if resource and resource not in found.setdefault(group, []):
                found[group].append(resource)
    return {group: sorted(resources) for group, resources in sorted(found.items())}


def controller_rbac(portfolio: Portfolio, serving: Tree) -> list[Document]:
    """Least privilege for the application controller: manage exactly the cluster-scoped kinds this tree holds."""
    kinds = cluster_scoped_kinds(serving)
    if not kinds:
        return []
    name = f"{portfolio.gitops.application}-argocd-cluster-scoped"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": metadata(name),
            "rules": [{"apiGroups": [group], "resources": resources, "verbs": MANAGE} for group, resources in kinds.items()],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": metadata(name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": controller_service_account(portfolio),
                          "namespace": portfolio.gitops.argocd_namespace}],
        },
    ]


def app_project(portfolio: Portfolio, serving: Tree) -> Document:
    """The Applications' AppProject: this repository only, this tree's namespaces and kinds only, nothing else."""
    gitops = portfolio.gitops
    namespaced: dict[tuple[str, str], None] = {("argoproj.io", "Application"): None}  # the app-of-apps' children
    namespaces: dict[str, None] = {gitops.argocd_namespace: None}
    cluster: dict[tuple[str, str], None] = {}
    for documents in serving.values():
        for doc in documents:
            if doc.get("kind") == "Kustomization":
                continue
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            key = (group, str(doc["kind"]))
            namespace = (doc.get("metadata") or {}).get("namespace")
            if namespace:
                namespaced[key] = None
                namespaces[namespace] = None
            else:
                cluster[key] = None
    # The app-of-apps and its children live on Argo CD's own cluster; each environment's serving tree on its cluster.
    servers = list(dict.fromkeys([gitops.destination_server, *(e.destination_server for e in portfolio.environments)]))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": metadata(gitops.project, namespace=gitops.argocd_namespace),
        "spec": {
            "description": f"The model portfolio's GitOps tree ({gitops.application}): exactly its namespaces and kinds",
            "sourceRepos": [gitops.repo_url],
            "destinations": [{"server": server, "namespace": ns} for server in servers for ns in sorted(namespaces)],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(cluster)],
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(namespaced)],
        },
    }


def render_argocd(portfolio: Portfolio) -> dict[str, list[Document]]:
    if portfolio.environments:
        return {f"{a['metadata']['name']}.yaml": [a] for a in environment_applications(portfolio)}
    return {f"{portfolio.gitops.application}.yaml": [application(portfolio)]}


def render_bootstrap(portfolio: Portfolio, serving: Tree) -> dict[str, list[Document]]:
    files = {f"{portfolio.gitops.app_of_apps}.yaml": [root_application(portfolio)],
             "app-project.yaml": [app_project(portfolio, serving)]}
    rbac = controller_rbac(portfolio, serving)
    if rbac:
        files["argocd-controller-rbac.yaml"] = rbac
    return files

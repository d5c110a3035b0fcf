"""Argo CD: the Applications that sync the serving tree (generator.render.applications says which), listed by the
app-of-apps, and the bootstrap an administrator applies once (the root Application, the AppProjects, the controller's
RBAC); the InferenceService health check is merged into the ArgoCD instance by a JSON patch (the runbook's deploy)."""

from __future__ import annotations

from collections.abc import Sequence

from generator.model.portfolio import Portfolio
from generator.render.applications import AppRoot, documents_by_root
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
    ("kueue.x-k8s.io", "Cohort"): "cohorts",
    ("kueue.x-k8s.io", "WorkloadPriorityClass"): "workloadpriorityclasses",
}
MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def serving_tree_path(portfolio: Portfolio) -> str:
    return f"gitops/{portfolio.gitops.application}/base"


def controller_service_account(portfolio: Portfolio) -> str:
    """The application controller's ServiceAccount, named after the ArgoCD instance by the operator."""
    return f"{portfolio.gitops.argocd_instance}-argocd-application-controller"


def _application(portfolio: Portfolio, *, name: str, path: str, namespace: str, server: str | None = None,
                 ignore: list[Document] | None = None, jobs: bool, project: str | None = None) -> Document:
    """An Application of this repository: `path` synced into `namespace`, automated with retries. With `jobs` (its
    path holds Jobs that later waves need) every attempt applies every resource, so a failed Job fails each attempt."""
    gitops = portfolio.gitops
    options = list(SYNC_OPTIONS) if jobs else [*SYNC_OPTIONS, OUT_OF_SYNC_ONLY]
    spec: Document = {
        "project": project or gitops.project,
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


def application(portfolio: Portfolio, root: AppRoot, documents: list[Document], environment: str | None = None) -> Document:
    """The Application of one root of the serving tree holding `documents` (of its overlay for an environment)."""
    models = any(d.get("kind") == "InferenceService" for d in documents)
    server = next((e.destination_server for e in portfolio.environments if e.name == environment), None)
    return _application(portfolio, name=root.name(portfolio, environment), path=root.path(portfolio, environment),
                        namespace=root.namespace, server=server, project=root.project,
                        ignore=live_toggle_ignore() if portfolio.gitops.live_toggle and models else None,
                        jobs=any(d.get("kind") == "Job" for d in documents))


def root_application(portfolio: Portfolio) -> Document:
    """The one Application applied by hand: it syncs the app-of-apps folder, which lists the rest."""
    gitops = portfolio.gitops
    return _application(portfolio, name=gitops.app_of_apps, path=APP_OF_APPS_DIR, namespace=gitops.argocd_namespace,
                        jobs=False)


HEALTH_CHECKS = "/spec/resourceHealthChecks"


# The ArgoCD instance's custom health checks the tree needs: (group, kind) -> the Lua script of generator/scripts.
HEALTH_CHECK_SCRIPTS = {
    ("serving.kserve.io", "InferenceService"): "inferenceservice-health.lua",
    ("batch", "Job"): "job-health.lua",  # Kueue's suspend-and-resume made the built-in check call a running Job Healthy
}


def health_check_entries() -> list[Document]:
    """The custom health checks, each an entry of the ArgoCD instance's `spec.resourceHealthChecks`, which the OpenShift
    GitOps operator writes into argocd-cm as resource.customizations.health.<group>_<kind>."""
    return [{"group": group, "kind": kind, "check": script(name)} for (group, kind), name in HEALTH_CHECK_SCRIPTS.items()]


def health_check_entry(kind: str = "InferenceService") -> Document:
    return next(e for e in health_check_entries() if e["kind"] == kind)


def health_check_patch(entries: list[Document] | None = None) -> list[Document]:
    """A JSON patch (RFC 6902) that appends the entries and leaves every other entry of the instance's list in place.
    Applying a partial ArgoCD object instead would replace the whole list: the administrator's checks would go."""
    return [{"op": "add", "path": f"{HEALTH_CHECKS}/-", "value": e} for e in (health_check_entries() if entries is None else entries)]


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


def app_project(portfolio: Portfolio, *, name: str, description: str, documents: list[Document],
                namespaced: Sequence[tuple[str, str]] = (), namespaces: Sequence[str] = ()) -> Document:
    """An AppProject: this repository only, and exactly the namespaces and kinds of `documents` (plus the given ones)."""
    gitops = portfolio.gitops
    kinds: dict[tuple[str, str], None] = dict.fromkeys(namespaced)
    places: dict[str, None] = dict.fromkeys(namespaces)
    cluster: dict[tuple[str, str], None] = {}
    for doc in documents:
        group = str(doc.get("apiVersion", "")).rpartition("/")[0]
        key = (group, str(doc["kind"]))
        namespace = (doc.get("metadata") or {}).get("namespace")
        if namespace:
            kinds[key] = None
            places[namespace] = None
        else:
            cluster[key] = None
    # The app-of-apps and its children live on Argo CD's own cluster; each environment's serving tree on its cluster.
    servers = list(dict.fromkeys([gitops.destination_server, *(e.destination_server for e in portfolio.environments)]))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": metadata(name, namespace=gitops.argocd_namespace),
        "spec": {
            "description": description,
            "sourceRepos": [gitops.repo_url],
            "destinations": [{"server": server, "namespace": ns} for server in servers for ns in sorted(places)],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(cluster)],
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(kinds)],
        },
    }


def app_projects(portfolio: Portfolio, serving: Tree, roots: list[AppRoot]) -> list[Document]:
    """The tree's project (the app-of-apps, and the serving tree or the platform), then one per team: only the
    team's namespace, only the namespaced kinds its Applications hold, no cluster-scoped kind."""
    gitops = portfolio.gitops
    held = documents_by_root(portfolio, serving, roots)
    own = [r for r in roots if r.project == gitops.project]
    projects = [app_project(
        portfolio, name=gitops.project, namespaced=[("argoproj.io", "Application")], namespaces=[gitops.argocd_namespace],
        description=f"The model portfolio's GitOps tree ({gitops.application}): exactly its namespaces and kinds"
        if not portfolio.teams else f"The model portfolio's platform ({gitops.application}): the app-of-apps, the "
        "cluster-scoped Kueue objects, the teams' namespaces and queues",
        documents=[d for r in own for d in held[r]])]
    for team in portfolio.teams:
        mine = [r for r in roots if r.team == team.name]
        if not mine:
            continue
        projects.append(app_project(
            portfolio, name=mine[0].project,
            description=f"Team {team.name} of the model portfolio ({gitops.application}): only namespace "
                        f"{mine[0].namespace}, only the kinds its models, Jobs and callers need",
            documents=[d for r in mine for d in held[r]]))
    return projects


def render_argocd(portfolio: Portfolio, serving: Tree, roots: list[AppRoot]) -> dict[str, list[Document]]:
    """The app-of-apps' Applications: one per root of the serving tree, or one per root and environment."""
    environments: list[str | None] = [e.name for e in portfolio.environments] or [None]
    held = documents_by_root(portfolio, serving, roots)
    apps = [application(portfolio, root, held[root], env) for env in environments for root in roots]
    return {f"{a['metadata']['name']}.yaml": [a] for a in apps}


def render_bootstrap(portfolio: Portfolio, serving: Tree, roots: list[AppRoot]) -> dict[str, list[Document]]:
    files = {f"{portfolio.gitops.app_of_apps}.yaml": [root_application(portfolio)],
             "app-project.yaml": app_projects(portfolio, serving, roots)}
    rbac = controller_rbac(portfolio, serving)
    if rbac:
        files["argocd-controller-rbac.yaml"] = rbac
    return files

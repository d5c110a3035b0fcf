"""Argo CD: the Application that syncs the serving tree, listed by the app-of-apps."""

from __future__ import annotations

from generator.model.portfolio import Portfolio
from generator.render.common import Document, metadata

APP_OF_APPS_DIR = "gitops/argocd/app-of-apps"
BOOTSTRAP_DIR = "gitops/argocd/bootstrap"
SYNC_POLICY = {
    "automated": {"prune": True, "selfHeal": True},
    "syncOptions": ["CreateNamespace=false", "PruneLast=true", "ApplyOutOfSyncOnly=true"],
    "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
}


def serving_tree_path(portfolio: Portfolio) -> str:
    return f"gitops/{portfolio.gitops.application}/base"


def _application(portfolio: Portfolio, *, name: str, path: str, namespace: str) -> Document:
    """An Application of this repository: `path` synced into `namespace`, automated with retries."""
    gitops = portfolio.gitops
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(name, namespace=gitops.argocd_namespace),
        "spec": {
            "project": gitops.project,
            "source": {"repoURL": gitops.repo_url, "targetRevision": gitops.target_revision, "path": path},
            "destination": {"server": gitops.destination_server, "namespace": namespace},
            "syncPolicy": SYNC_POLICY,
        },
    }


def application(portfolio: Portfolio) -> Document:
    """The serving tree's Application, listed by the app-of-apps."""
    return _application(portfolio, name=portfolio.gitops.application, path=serving_tree_path(portfolio),
                        namespace=portfolio.namespace)


def root_application(portfolio: Portfolio) -> Document:
    """The one Application applied by hand: it syncs the app-of-apps folder, which lists the rest."""
    gitops = portfolio.gitops
    return _application(portfolio, name=gitops.app_of_apps, path=APP_OF_APPS_DIR, namespace=gitops.argocd_namespace)


def render_argocd(portfolio: Portfolio) -> dict[str, list[Document]]:
    return {f"{portfolio.gitops.application}.yaml": [application(portfolio)]}


def render_bootstrap(portfolio: Portfolio) -> dict[str, list[Document]]:
    return {f"{portfolio.gitops.app_of_apps}.yaml": [root_application(portfolio)]}

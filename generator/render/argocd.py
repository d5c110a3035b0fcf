"""Argo CD: the Application that syncs the serving tree, listed by the app-of-apps."""

from __future__ import annotations

from generator.portfolio import Portfolio
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


def application(portfolio: Portfolio) -> Document:
    gitops = portfolio.gitops
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(gitops.application, namespace=gitops.argocd_namespace),
        "spec": {
            "project": gitops.project,
            "source": {
                "repoURL": gitops.repo_url,
                "targetRevision": gitops.target_revision,
                "path": serving_tree_path(portfolio),
            },
            "destination": {"server": gitops.destination_server, "namespace": portfolio.namespace},
            "syncPolicy": SYNC_POLICY,
        },
    }


def root_application(portfolio: Portfolio) -> Document:
    """The one Application applied by hand: it syncs the app-of-apps folder, which lists the rest."""
    gitops = portfolio.gitops
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(gitops.app_of_apps, namespace=gitops.argocd_namespace),
        "spec": {
            "project": gitops.project,
            "source": {"repoURL": gitops.repo_url, "targetRevision": gitops.target_revision, "path": APP_OF_APPS_DIR},
            "destination": {"server": gitops.destination_server, "namespace": gitops.argocd_namespace},
            "syncPolicy": SYNC_POLICY,
        },
    }


def render_argocd(portfolio: Portfolio) -> dict[str, list[Document]]:
    return {f"{portfolio.gitops.application}.yaml": [application(portfolio)]}


def render_bootstrap(portfolio: Portfolio) -> dict[str, list[Document]]:
    return {f"{portfolio.gitops.app_of_apps}.yaml": [root_application(portfolio)]}

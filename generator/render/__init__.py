"""render(portfolio) -> Tree: pure, no I/O; one module per emitted component."""

from __future__ import annotations

from collections.abc import Callable

from generator.model.environments import environment_portfolio
from generator.model.portfolio import Portfolio
from generator.render.access import render_access
from generator.render.argocd import (
    APP_OF_APPS_DIR,
    BOOTSTRAP_DIR,
    overlay_path,
    render_argocd,
    render_bootstrap,
    serving_tree_path,
)
from generator.render.common import Document, Tree
from generator.render.inference import render_inference
from generator.render.kueue import render_kueue
from generator.render.overlays import overlay
from generator.render.registration import render_registration
from generator.render.runtime import render_runtime
from generator.render.upload import render_upload

Component = Callable[[Portfolio], dict[str, list[Document]]]

# Folder under the serving tree -> renderer, in sync-wave order.
COMPONENTS: tuple[tuple[str, Component], ...] = (
    ("kueue", render_kueue),
    ("model-upload", render_upload),
    ("serving-runtime", render_runtime),
    ("model-access", render_access),
    ("inference", render_inference),
    ("model-registration", render_registration),
)


def kustomization(resources: list[str]) -> Document:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }


def _add_root(tree: Tree, folder: str, files: dict[str, list[Document]]) -> None:
    for name, documents in files.items():
        tree[f"{folder}/{name}"] = documents
    tree[f"{folder}/kustomization.yaml"] = [kustomization(list(files))]


def render_serving(portfolio: Portfolio) -> Tree:
    """The serving tree (gitops/<application>/base) of a portfolio."""
    tree: Tree = {}
    base = serving_tree_path(portfolio)
    present = []
    for folder, component in COMPONENTS:
        files = component(portfolio)
        if files:
            _add_root(tree, f"{base}/{folder}", files)
            present.append(folder)
    tree[f"{base}/kustomization.yaml"] = [kustomization(present)]
    return tree


def render(portfolio: Portfolio) -> Tree:
    tree = render_serving(portfolio)
    serving = dict(tree)
    for env in portfolio.environments:
        folder = overlay_path(portfolio, env.name)
        env_kustomization, added = overlay(serving, render_serving(environment_portfolio(portfolio, env)),
                                           base_dir="../../base")
        tree[f"{folder}/kustomization.yaml"] = [env_kustomization]
        if added:
            tree[f"{folder}/added.yaml"] = added
    _add_root(tree, APP_OF_APPS_DIR, render_argocd(portfolio))
    _add_root(tree, BOOTSTRAP_DIR, render_bootstrap(portfolio, serving))
    return dict(sorted(tree.items()))

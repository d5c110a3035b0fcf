"""render(portfolio) -> Tree: pure, no I/O; one module per emitted component."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from generator.model.environments import environment_portfolio
from generator.model.portfolio import Portfolio
from generator.render.access import render_access
from generator.render.applications import AppRoot, app_roots, in_one_wave, rendered_roots, root_of
from generator.render.argocd import APP_OF_APPS_DIR, BOOTSTRAP_DIR, render_argocd, render_bootstrap
from generator.render.common import Document, Tree
from generator.render.inference import render_inference
from generator.render.kueue import render_kueue
from generator.render.overlays import overlay
from generator.render.registration import render_registration
from generator.render.runtime import render_runtime
from generator.render.upload import render_upload

Component = Callable[[Portfolio], dict[str, list[Document]]]
# A team's support Application (what no wave waits on): its file per component.
SUPPORT_FILES = {"model-upload": "volumes.yaml", "model-access": "access.yaml"}

# Folder under an Application's path -> renderer, in sync-wave order.
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
    """The base of every Application that syncs the portfolio (gitops/<application>/base and, with teams, the
    platform's and each team's folders under it): a folder per component, in wave order."""
    roots = app_roots(portfolio)
    placed: dict[AppRoot, dict[str, dict[str, list[Document]]]] = {root: {} for root in roots}
    for folder, component in COMPONENTS:
        for name, documents in component(portfolio).items():
            for document in documents:
                root = root_of(portfolio, roots, folder, document)
                files = placed[root].setdefault(folder, {})
                if root.role == "support":  # applied together, read together: one file per component, not one per model
                    files.setdefault(SUPPORT_FILES[folder], []).append(in_one_wave(document))
                else:
                    files.setdefault(name, []).append(document)
    tree: Tree = {}
    for root in roots:
        components = placed[root]
        if not components:
            continue  # a team without models has nothing to call: no Application
        base = root.base_path(portfolio)
        for folder, files in components.items():
            _add_root(tree, f"{base}/{folder}", files)
        tree[f"{base}/kustomization.yaml"] = [kustomization(list(components))]
    return tree


def files_of(tree: Tree, folder: str) -> Tree:
    return {path: docs for path, docs in tree.items() if path.startswith(folder + "/")}


def render(portfolio: Portfolio) -> Tree:
    serving = render_serving(portfolio)
    tree = dict(serving)
    roots = rendered_roots(portfolio, serving)
    for env in portfolio.environments:
        env_serving = render_serving(environment_portfolio(portfolio, env))
        for root in roots:
            base, folder = root.base_path(portfolio), root.overlay_path(portfolio, env.name)
            env_kustomization, added = overlay(files_of(serving, base), files_of(env_serving, base),
                                               base_dir=posixpath.relpath(base, folder))
            tree[f"{folder}/kustomization.yaml"] = [env_kustomization]
            if added:
                tree[f"{folder}/added.yaml"] = added
    _add_root(tree, APP_OF_APPS_DIR, render_argocd(portfolio, serving, roots))
    _add_root(tree, BOOTSTRAP_DIR, render_bootstrap(portfolio, serving, roots))
    return dict(sorted(tree.items()))

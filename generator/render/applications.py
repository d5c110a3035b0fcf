"""Which Argo CD Application syncs each document, and where its folder is.

Without teams one Application syncs the whole serving tree (gitops/<application>/base), as it always has. With
teams the tree is cut so that Argo CD's repo-server renders every path in seconds (kustomize's time grows with the
square of a path's resources) and each team's Application can deploy only into its team's namespace:
- the platform (`<application>`, gitops/<application>/base/platform): the cluster-scoped Kueue objects and the
  teams' namespaces, and the namespace-scoped objects that bind a team to its quota (its LocalQueue, the
  HardwareProfiles): a team cannot point itself at another team's ClusterQueue;
- per team (`<application>-<team>`, base/teams/<team>/serving): its upload and registration Jobs, runtime and models,
  in their waves, so a failed Job of the team stops the team's models and no other team's;
- per team (`<application>-<team>-support`, base/teams/<team>/support): the upload volumes and who may call its models.
  No wave of a sync waits for them (an upload Job's pod waits for its volume, as Kubernetes makes every pod wait),
  so they are an Application apart: kustomize matches every Job against every volume of its path and every
  RoleBinding against every Role, so a team's models path without them renders in half the time.
Environments give each of these an overlay (gitops/<application>/overlays/<env>/<the same folder>) and an
Application per cluster (`<application>-<env>`, `<application>-<env>-<team>`, ...).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cache
from typing import Literal

from generator.model.derive import team_namespace
from generator.model.portfolio import Portfolio
from generator.render.common import SYNC_WAVE, Document, Tree

Role = Literal["serving", "platform", "team", "support"]
# Components that bind a team to its quota and place: the platform's, never a team's.
PLATFORM_COMPONENTS = frozenset({"kueue"})
# What a team's models use and no wave waits on: its callers' access, and the upload volumes.
SUPPORT_COMPONENTS = frozenset({"model-access"})
SUPPORT_KINDS = frozenset({"PersistentVolumeClaim"})


@dataclass(frozen=True)
class AppRoot:
    """An Application of the tree: its folder under the base (and under each overlay), its AppProject and the
    namespace it deploys to by default."""

    role: Role
    folder: str  # relative to gitops/<application>/base: "" for the one serving Application
    project: str
    namespace: str
    team: str | None = None

    def name(self, portfolio: Portfolio, environment: str | None = None) -> str:
        parts = [portfolio.gitops.application, environment, self.team, "support" if self.role == "support" else None]
        return "-".join(p for p in parts if p)

    def base_path(self, portfolio: Portfolio) -> str:
        return posixpath.join(f"gitops/{portfolio.gitops.application}/base", self.folder).rstrip("/")

    def overlay_path(self, portfolio: Portfolio, environment: str) -> str:
        return posixpath.join(f"gitops/{portfolio.gitops.application}/overlays/{environment}", self.folder).rstrip("/")

    def path(self, portfolio: Portfolio, environment: str | None = None) -> str:
        return self.base_path(portfolio) if environment is None else self.overlay_path(portfolio, environment)


def team_project(portfolio: Portfolio, team: str) -> str:
    return f"{portfolio.gitops.project}-{team}"


def app_roots(portfolio: Portfolio) -> list[AppRoot]:
    """The Applications of the tree, platform first."""
    gitops = portfolio.gitops
    if not portfolio.teams:
        return [AppRoot("serving", "", gitops.project, portfolio.namespace)]
    roots = [AppRoot("platform", "platform", gitops.project, gitops.argocd_namespace)]
    for team in portfolio.teams:
        namespace, project = team_namespace(team), team_project(portfolio, team.name)
        roots.append(AppRoot("team", f"teams/{team.name}/serving", project, namespace, team.name))
        roots.append(AppRoot("support", f"teams/{team.name}/support", project, namespace, team.name))
    return roots


def rendered_roots(portfolio: Portfolio, serving: Tree) -> list[AppRoot]:
    """The Applications the serving tree needs: every root that holds documents."""
    return [root for root in app_roots(portfolio) if f"{root.base_path(portfolio)}/kustomization.yaml" in serving]


def documents_by_root(portfolio: Portfolio, serving: Tree, roots: list[AppRoot]) -> dict[AppRoot, list[Document]]:
    """The resources of each Application's path (its base), from one pass over the serving tree."""
    prefixes = {root.base_path(portfolio): root for root in roots}
    found: dict[AppRoot, list[Document]] = {root: [] for root in roots}
    for path, documents in serving.items():
        parts = path.split("/")
        for end in range(len(parts) - 1, 0, -1):  # the deepest folder of the path that is an Application's
            root = prefixes.get("/".join(parts[:end]))
            if root is not None:
                found[root] += [d for d in documents if d.get("kind") != "Kustomization"]
                break
    return found


def in_one_wave(document: Document) -> Document:
    """A support document without its sync wave: the support Application applies everything at once and its sync ends
    there. In waves it would wait for its volumes to bind, which a WaitForFirstConsumer class does only once the
    upload Job's pod (in the models' Application) is scheduled."""
    meta = document["metadata"]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != SYNC_WAVE}
    meta = {k: v for k, v in meta.items() if k != "annotations"} | ({"annotations": annotations} if annotations else {})
    return {**document, "metadata": meta}


def root_of(portfolio: Portfolio, roots: list[AppRoot], component: str, document: Document) -> AppRoot:
    """The Application that syncs `document`, which the renderer `component` made."""
    if not portfolio.teams:
        return roots[0]
    namespace = (document.get("metadata") or {}).get("namespace")
    if component in PLATFORM_COMPONENTS or not namespace:
        return roots[0]
    role = "support" if component in SUPPORT_COMPONENTS or document.get("kind") in SUPPORT_KINDS else "team"
    found = _by_place(tuple(roots)).get((role, namespace))
    if found is None:
        raise AssertionError(f"{component} rendered {document.get('kind')} {namespace}/{(document.get('metadata') or {}).get('name')}"
                             " outside every team's namespace: no Application may deploy it")
    return found


@cache
def _by_place(roots: tuple[AppRoot, ...]) -> dict[tuple[str, str], AppRoot]:
    return {(root.role, root.namespace): root for root in roots if root.team is not None}

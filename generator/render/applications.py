"""Which Argo CD Application syncs each document, and where its folder is.

Without teams one Application syncs the whole serving tree (gitops/<application>/base), as it always has. With
teams the tree is cut so that Argo CD's repo-server renders every path in seconds (kustomize's time grows with the
square of a path's resources) and each team's Application can deploy only into its team's namespace:
- the platform (`<application>`, gitops/<application>/base/platform): the cluster-scoped Kueue objects and the
  teams' namespaces, and the namespace-scoped objects that bind a team to its quota (its LocalQueue, the
  HardwareProfiles): a team cannot point itself at another team's ClusterQueue;
- per team (`<application>-<team>`, base/teams/<team>/serving): its uploads, runtime, registration and models, in
  their waves, so a failed Job of the team stops the team's models and no other team's;
- per team (`<application>-<team>-access`, base/teams/<team>/access): who may call its models. Access waits for
  nothing and nothing waits for it, so it is an Application apart and the models' path stays small.
Environments give each of these an overlay (gitops/<application>/overlays/<env>/<the same folder>) and an
Application per cluster (`<application>-<env>`, `<application>-<env>-<team>`, ...).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

from generator.model.derive import team_namespace
from generator.model.portfolio import Portfolio
from generator.render.common import Document

Role = Literal["serving", "platform", "team", "access"]
# Components that bind a team to its quota and place: the platform's, never a team's.
PLATFORM_COMPONENTS = frozenset({"kueue"})
ACCESS_COMPONENTS = frozenset({"model-access"})


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
        parts = [portfolio.gitops.application, environment, self.team, "access" if self.role == "access" else None]
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
        roots.append(AppRoot("access", f"teams/{team.name}/access", project, namespace, team.name))
    return roots


def root_of(portfolio: Portfolio, roots: list[AppRoot], component: str, document: Document) -> AppRoot:
    """The Application that syncs `document`, which the renderer `component` made."""
    if not portfolio.teams:
        return roots[0]
    namespace = (document.get("metadata") or {}).get("namespace")
    if component in PLATFORM_COMPONENTS or not namespace:
        return roots[0]
    role = "access" if component in ACCESS_COMPONENTS else "team"
    for root in roots:
        if root.role == role and root.namespace == namespace:
            return root
    raise AssertionError(f"{component} rendered {document.get('kind')} {namespace}/{(document.get('metadata') or {}).get('name')}"
                         " outside every team's namespace: no Application may deploy it")

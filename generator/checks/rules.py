"""Cross-field rules of the portfolio: one function per rule, each yielding Problems with a path.

Rule ids are stable; the README lists them. Lint rules about vLLM and Kueue pitfalls live in
`generator.checks.lint`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from generator.checks.cohorts import COHORT_RULES
from generator.diagnostics import Problem
from generator.model.derive import (
    MODEL_SERVER,
    eligible_flavors,
    flavor_named,
    model_resources,
    s3_prefix,
    storage_tier,
    team_namespace,
)
from generator.model.portfolio import Model, Portfolio
from generator.render.applications import app_roots

Rule = Callable[[Portfolio], Iterator[Problem]]


def unique_model_names(portfolio: Portfolio) -> Iterator[Problem]:
    """PF001: two models with one name would overwrite each other's InferenceService."""
    first: dict[str, int] = {}
    for index, model in enumerate(portfolio.models):
        if model.name in first:
            yield Problem(("models", index, "name"), "PF001",
                          f"model name {model.name!r} is already used by models[{first[model.name]}]; names must be unique")
        first.setdefault(model.name, index)


def unique_flavor_names(portfolio: Portfolio) -> Iterator[Problem]:
    """PF002: flavor names are ResourceFlavor names, unique in the cluster (the CPU flavor's too)."""
    first: dict[str, int] = {}
    cpu = portfolio.kueue.cpu_flavor.name
    for index, flavor in enumerate(portfolio.flavors):
        if flavor.name in first:
            yield Problem(("flavors", index, "name"), "PF002",
                          f"flavor name {flavor.name!r} is already used by flavors[{first[flavor.name]}]; names must be unique")
        elif flavor.name == cpu:
            yield Problem(("flavors", index, "name"), "PF002",
                          f"flavor name {flavor.name!r} is the CPU flavor's (kueue.cpuFlavor.name); names must be unique")
        first.setdefault(flavor.name, index)


def quota_fits_the_nodes(portfolio: Portfolio) -> Iterator[Problem]:
    """PF014: Kueue admits by quota; a GPU quota above what the flavor's nodes hold admits pods no node can run."""
    for index, flavor in enumerate(portfolio.flavors):
        capacity = flavor.gpus_per_node * flavor.nodes
        if flavor.quota.gpus > capacity:
            yield Problem(("flavors", index, "quota", "gpus"), "PF014",
                          f"a quota of {flavor.quota.gpus} GPUs is more than the flavor's nodes hold ({flavor.nodes} x "
                          f"{flavor.gpus_per_node} = {capacity}): Kueue would admit pods that stay Pending for lack of a "
                          "node; add nodes or lower the quota")


def pinned_flavor_exists(portfolio: Portfolio) -> Iterator[Problem]:
    """PF003: a model pinned to a flavor that is not declared."""
    names = [f.name for f in portfolio.flavors]
    for index, model in enumerate(portfolio.models):
        if model.flavor and model.flavor not in names:
            yield Problem(("models", index, "flavor"), "PF003",
                          f"unknown flavor {model.flavor!r}; declared flavors: {', '.join(names)}")


def priority_class_exists(portfolio: Portfolio) -> Iterator[Problem]:
    """PF013: a model names a declared priority class; class names are unique."""
    names = [pc.name for pc in portfolio.kueue.priority_classes]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield Problem(("kueue", "priorityClasses", index, "name"), "PF013", f"priority class {name!r} is declared twice")
    for index, model in enumerate(portfolio.models):
        if model.priority and model.priority not in names:
            yield Problem(("models", index, "priority"), "PF013",
                          f"unknown priority class {model.priority!r}; declared: {', '.join(names) or 'none (kueue.priorityClasses)'}")


def gpus_fit_a_node(portfolio: Portfolio) -> Iterator[Problem]:
    """PF004: a pod cannot span nodes, so its GPUs must fit one node of some flavor."""
    for index, model in enumerate(portfolio.models):
        if eligible_flavors(model, portfolio):
            continue
        if model.flavor:
            pinned = flavor_named(portfolio, model.flavor)
            if pinned:
                yield Problem(("models", index, "gpus"), "PF004",
                              f"{model.gpus} GPUs do not fit one node of the pinned flavor {pinned.name!r} "
                              f"({pinned.gpus_per_node} GPUs per node)")
            continue
        largest = max(portfolio.flavors, key=lambda f: f.gpus_per_node)
        yield Problem(("models", index, "gpus"), "PF004",
                      f"{model.gpus} GPUs fit no node: the largest flavor {largest.name!r} has "
                      f"{largest.gpus_per_node} GPUs per node")


def storage_is_possible(portfolio: Portfolio) -> Iterator[Problem]:
    """PF006/PF007: every model needs a storage tier that can hold its weights."""
    limit = portfolio.storage.oci_size_limit_gb
    for index, model in enumerate(portfolio.models):
        weights = model.weights
        oci_too_big = model.size_gb >= limit
        if model.storage == "oci" and weights.oci and oci_too_big:
            yield Problem(("models", index, "storage"), "PF006",
                          f"an OCI ModelCar of {model.size_gb:g} GB is not below storage.ociSizeLimitGB ({limit:g}); "
                          "it fails to unpack ('no space left on device'): use storage: s3 with huggingFace or s3Prefix")
        elif storage_tier(model, portfolio) is None:
            if model.storage == "auto" and weights.oci and oci_too_big:
                yield Problem(("models", index, "weights", "oci"), "PF006",
                              f"the model is {model.size_gb:g} GB, not below storage.ociSizeLimitGB ({limit:g}), and has only "
                              "an OCI image, which fails to unpack ('no space left on device'); add weights.huggingFace "
                              "or weights.s3Prefix so it is served from S3")
            else:
                need = "weights.oci" if model.storage == "oci" else "weights.huggingFace or weights.s3Prefix"
                yield Problem(("models", index, "storage"), "PF007",
                              f"storage {model.storage!r} needs {need}")


def shared_weights_agree(portfolio: Portfolio) -> Iterator[Problem]:
    """PF008: models sharing an S3 prefix share one upload, so they must name the same source."""
    source_of: dict[str, tuple[int, str | None]] = {}
    for index, model in enumerate(portfolio.models):
        prefix = s3_prefix(model)
        if storage_tier(model, portfolio) != "s3" or prefix is None:
            continue
        first = source_of.get(prefix)
        if first is not None and source_of[prefix][1] == model.weights.hugging_face and _patterns(
                portfolio.models[first[0]]) != _patterns(model):
            yield Problem(("models", index, "weights"), "PF008",
                          f"S3 prefix {prefix!r} is uploaded once, for models[{first[0]}] too; models sharing a prefix "
                          "must upload the same files (allowPatterns and ignorePatterns)")
        if prefix in source_of and source_of[prefix][1] != model.weights.hugging_face:
            other, repo = source_of[prefix]
            yield Problem(("models", index, "weights", "s3Prefix" if model.weights.s3_prefix else "huggingFace"), "PF008",
                          f"S3 prefix {prefix!r} is already filled from {repo or 'outside this portfolio'} by "
                          f"models[{other}]; models sharing a prefix must name the same huggingFace repository")
        source_of.setdefault(prefix, (index, model.weights.hugging_face))


def _patterns(model: Model) -> tuple[object, object]:
    return model.weights.allow_patterns, model.weights.ignore_patterns


def resources_known(portfolio: Portfolio) -> Iterator[Problem]:
    """PF009/PF010: every model pod has CPU and memory, from its own resources or a profile."""
    seen: set[int] = set()
    for index, profile in enumerate(portfolio.model_defaults.resources):
        if profile.gpus in seen:
            yield Problem(("modelDefaults", "resources", index, "gpus"), "PF010",
                          f"a resource profile for {profile.gpus} GPUs is already declared")
        seen.add(profile.gpus)
    for index, model in enumerate(portfolio.models):
        if model_resources(model, portfolio) is None:
            known = ", ".join(str(g) for g in sorted(seen)) or "none"
            yield Problem(("models", index, "gpus"), "PF009",
                          f"no modelDefaults.resources profile for {model.gpus} GPUs (profiles: {known}); "
                          "add one or give the model its own resources")


def scenarios_name_known_models(portfolio: Portfolio) -> Iterator[Problem]:
    """PF011/PF012: scenario names are unique; steps and expectations name declared models and flavors."""
    models = [m.name for m in portfolio.models]
    flavors = [f.name for f in portfolio.flavors]
    seen: set[str] = set()
    for s_index, scenario in enumerate(portfolio.scenarios):
        if scenario.name in seen:
            yield Problem(("scenarios", s_index, "name"), "PF012", f"scenario {scenario.name!r} is declared twice")
        seen.add(scenario.name)
        for m_index, name in enumerate(scenario.start or []):
            if name not in models:
                yield Problem(("scenarios", s_index, "start", m_index), "PF011", f"unknown model {name!r}; models: {', '.join(models)}")
        for t_index, step in enumerate(scenario.steps):
            where = ("scenarios", s_index, "steps", t_index)
            for action in ("enable", "disable", "update"):
                for i, name in enumerate(getattr(step, action)):
                    if name not in models:
                        yield Problem((*where, action, i), "PF011", f"unknown model {name!r}; models: {', '.join(models)}")
            for name, expected in step.expect.items():
                if name not in models:
                    yield Problem((*where, "expect", name), "PF011",
                                  f"unknown model {name!r}; models: {', '.join(models)}", at_key=True)
                elif not isinstance(expected, str) and expected.flavor and expected.flavor not in flavors:
                    yield Problem((*where, "expect", name, "flavor"), "PF011",
                                  f"unknown flavor {expected.flavor!r}; flavors: {', '.join(flavors)}")


def own_argo_cd_project(portfolio: Portfolio) -> Iterator[Problem]:
    """PF015: the tree's Applications get an AppProject of their own; Argo CD's default project allows everything."""
    if portfolio.gitops.project == "default":
        yield Problem(("gitops", "project"), "PF015",
                      "the 'default' AppProject allows every repository, namespace and kind, and the bootstrap renders the "
                      "project it names: choose a project name of this tree's own (the default is gpuaas-portfolio)")


def teams_are_consistent(portfolio: Portfolio) -> Iterator[Problem]:
    """PF016: with teams, every model names a declared team (and without teams none does); team names and namespaces
    are unique; a team's quota names declared flavors, once each, and lends no more than it has."""
    teams = [t.name for t in portfolio.teams]
    flavors = [f.name for f in portfolio.flavors]
    seen_names: dict[str, int] = {}
    seen_namespaces: dict[str, int] = {}
    for t_index, team in enumerate(portfolio.teams):
        if team.name in seen_names:
            yield Problem(("teams", t_index, "name"), "PF016", f"team {team.name!r} is already declared at teams[{seen_names[team.name]}]")
        seen_names.setdefault(team.name, t_index)
        namespace = team_namespace(team)
        if namespace in seen_namespaces:
            yield Problem(("teams", t_index, "namespace" if team.namespace else "name"), "PF016",
                          f"namespace {namespace!r} is already teams[{seen_namespaces[namespace]}]'s; each team has its own")
        seen_namespaces.setdefault(namespace, t_index)
        listed: set[str] = set()
        for q_index, quota in enumerate(team.quota):
            where = ("teams", t_index, "quota", q_index)
            if quota.flavor not in flavors:
                yield Problem((*where, "flavor"), "PF016", f"unknown flavor {quota.flavor!r}; flavors: {', '.join(flavors)}")
            elif quota.flavor in listed:
                yield Problem((*where, "flavor"), "PF016", f"flavor {quota.flavor!r} is listed twice for team {team.name!r}")
            listed.add(quota.flavor)
            if quota.lending_limit is not None and quota.lending_limit > quota.gpus:
                yield Problem((*where, "lendingLimit"), "PF016",
                              f"lendingLimit {quota.lending_limit} is more than the team's {quota.gpus} GPUs; at most {quota.gpus}")
    for index, model in enumerate(portfolio.models):
        if portfolio.teams and model.team is None:
            yield Problem(("models", index), "PF016", f"model {model.name!r} names no team; with teams every model "
                          f"names one of: {', '.join(teams)}", at_key=True)
        elif model.team is not None and model.team not in teams:
            yield Problem(("models", index, "team"), "PF016",
                          f"unknown team {model.team!r}; " + (f"teams: {', '.join(teams)}" if teams else "declare teams first"))


def team_quotas_fit_the_flavors(portfolio: Portfolio) -> Iterator[Problem]:
    """PF017: the teams' quotas of a flavor add up to at most the flavor's quota: Kueue would admit more than the
    flavor was given."""
    for index, flavor in enumerate(portfolio.flavors):
        given = sum(q.gpus for t in portfolio.teams for q in t.quota if q.flavor == flavor.name)
        if portfolio.teams and given > flavor.quota.gpus:
            yield Problem(("flavors", index, "quota", "gpus"), "PF017",
                          f"the teams' quotas of {flavor.name} add up to {given} GPUs, more than the flavor's {flavor.quota.gpus}; "
                          "lower a team's quota or raise the flavor's")


def environments_are_consistent(portfolio: Portfolio) -> Iterator[Problem]:
    """PF018: environment names are unique; an environment names only declared flavors, teams and models."""
    flavors = [f.name for f in portfolio.flavors]
    teams = [t.name for t in portfolio.teams]
    models = {m.name for m in portfolio.models}
    seen: dict[str, int] = {}
    for e_index, env in enumerate(portfolio.environments):
        where = ("environments", e_index)
        if env.name in seen:
            yield Problem((*where, "name"), "PF018", f"environment {env.name!r} is already declared at environments[{seen[env.name]}]")
        seen.setdefault(env.name, e_index)
        for name in env.flavors:
            if name not in flavors:
                yield Problem((*where, "flavors", name), "PF018", f"unknown flavor {name!r}; flavors: {', '.join(flavors)}",
                              at_key=True)
        for name, quotas in env.teams.items():
            if name not in teams:
                yield Problem((*where, "teams", name), "PF018",
                              f"unknown team {name!r}; " + (f"teams: {', '.join(teams)}" if teams else "declare teams first"),
                              at_key=True)
            for q_index, quota in enumerate(quotas):
                if quota.flavor not in flavors:
                    yield Problem((*where, "teams", name, q_index, "flavor"), "PF018",
                                  f"unknown flavor {quota.flavor!r}; flavors: {', '.join(flavors)}")
        for m_index, name in enumerate(env.active or []):
            if name not in models:
                yield Problem((*where, "active", m_index), "PF018", f"unknown model {name!r}")


def application_names_are_unique(portfolio: Portfolio) -> Iterator[Problem]:
    """ARGO002: every Application of the tree has a name of its own. Names join the application, the environment and
    the team (`<application>-<env>-<team>`), so a team and an environment can spell another's name: one Application
    would replace the other in the app-of-apps."""
    gitops = portfolio.gitops
    seen: dict[str, str] = {gitops.app_of_apps: "the root Application (gitops.appOfApps)"}
    teams = {t.name: i for i, t in enumerate(portfolio.teams)}
    environments: list[tuple[int | None, str | None]] = [(i, e.name) for i, e in enumerate(portfolio.environments)] or [(None, None)]
    kinds = {"serving": "the Application", "platform": "the platform Application", "team": "the models Application",
             "support": "the support Application"}
    for e_index, environment in environments:
        for root in app_roots(portfolio):
            name = root.name(portfolio, environment)
            what = kinds[root.role] + (f" of team {root.team!r}" if root.team else "") + (
                f" in environment {environment!r}" if environment else "")
            if root.team is not None:
                where: tuple[str | int, ...] = ("teams", teams[root.team], "name")
            elif e_index is not None:
                where = ("environments", e_index, "name")
            else:
                where = ("gitops", "application")
            if name in seen:
                yield Problem(where, "ARGO002", f"{what} would be named {name!r}, like {seen[name]}: one would replace the "
                              "other in the app-of-apps; rename the team or the environment")
            else:
                seen[name] = what


def secret_env_is_its_own(portfolio: Portfolio) -> Iterator[Problem]:
    """PF019: a model's secretEnv names a variable modelDefaults.env does not also set (the container would get two
    values, and the literal one may win)."""
    for index, model in enumerate(portfolio.models):
        for name in model.secret_env:
            if name in portfolio.model_defaults.env:
                yield Problem(("models", index, "secretEnv", name), "PF019",
                              f"{name} is also set by modelDefaults.env; give it one source", at_key=True)


def callers_are_not_the_model_server(portfolio: Portfolio) -> Iterator[Problem]:
    """PF020: the predictors run as the ServiceAccount model-server of their namespace; a caller of that name would be
    the model itself (and the tree would render the account twice)."""
    for index, name in enumerate(portfolio.model_defaults.callers):
        if name == MODEL_SERVER:
            yield Problem(("modelDefaults", "callers", index), "PF020",
                          f"{MODEL_SERVER} is the ServiceAccount the models run as; name the callers' own accounts")
    for m_index, model in enumerate(portfolio.models):
        for index, name in enumerate(model.callers or []):
            if name == MODEL_SERVER:
                yield Problem(("models", m_index, "callers", index), "PF020",
                              f"{MODEL_SERVER} is the ServiceAccount the models run as; name the callers' own accounts")


RULES: tuple[Rule, ...] = (
    unique_model_names,
    unique_flavor_names,
    quota_fits_the_nodes,
    pinned_flavor_exists,
    priority_class_exists,
    gpus_fit_a_node,
    storage_is_possible,
    shared_weights_agree,
    resources_known,
    scenarios_name_known_models,
    own_argo_cd_project,
    teams_are_consistent,
    team_quotas_fit_the_flavors,
    environments_are_consistent,
    secret_env_is_its_own,
    callers_are_not_the_model_server,
    application_names_are_unique,
    *COHORT_RULES,
)


def check_portfolio(portfolio: Portfolio) -> list[Problem]:
    """Every rule's problems; the portfolio renders only when none is an error."""
    return [p for rule in RULES for p in rule(portfolio)]

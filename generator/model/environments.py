"""An environment's portfolio: the portfolio as one cluster sees it, with that cluster's nodes, quota and running
models. Everything else (models, runtime, storage, policies) is the portfolio's, written once."""

from __future__ import annotations

from generator.model.portfolio import Environment, Portfolio, Quota


def environment_named(portfolio: Portfolio, name: str) -> Environment | None:
    return next((e for e in portfolio.environments if e.name == name), None)


def environment_portfolio(portfolio: Portfolio, env: Environment) -> Portfolio:
    flavors = []
    for flavor in portfolio.flavors:
        override = env.flavors.get(flavor.name)
        if override is None:
            flavors.append(flavor)
            continue
        update: dict[str, object] = {}
        if override.nodes is not None:
            update["nodes"] = override.nodes
        if override.gpus is not None:
            update["quota"] = Quota(gpus=override.gpus)
        flavors.append(flavor.model_copy(update=update))
    teams = [t.model_copy(update={"quota": env.teams[t.name]}) if t.name in env.teams else t for t in portfolio.teams]
    models = portfolio.models
    if env.active is not None:
        running = set(env.active)
        models = [m.model_copy(update={"state": "active" if m.name in running else "queued"}) for m in models]
    return portfolio.model_copy(update={
        "flavors": flavors, "teams": teams, "models": models, "environments": [],
        "gitops": portfolio.gitops.model_copy(update={"destination_server": env.destination_server}),
    })

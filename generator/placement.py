"""Which flavor each active model lands on at baseline, checked against the nominal quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from generator.derive import eligible_flavors, model_resources
from generator.portfolio import Model, Portfolio
from generator.quantity import parse_quantity


def pod_requests(model: Model, portfolio: Portfolio) -> dict[str, Decimal]:
    """What Kueue counts for one model pod: GPUs, and the CPU and memory requests."""
    resources = model_resources(model, portfolio)
    requests = {portfolio.cluster.gpu_resource: Decimal(model.gpus)}
    if resources:
        requests["cpu"] = parse_quantity(resources.requests.cpu)
        requests["memory"] = parse_quantity(resources.requests.memory)
    return requests


def nominal_quota(portfolio: Portfolio) -> dict[str, dict[str, Decimal]]:
    return {
        f.name: {
            portfolio.cluster.gpu_resource: Decimal(f.quota.gpus),
            "cpu": parse_quantity(f.quota.cpu),
            "memory": parse_quantity(f.quota.memory),
        }
        for f in portfolio.flavors
    }


@dataclass(frozen=True)
class Rejected:
    index: int
    name: str
    reason: str


@dataclass
class Baseline:
    placed: dict[str, str] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


def _show(amount: Decimal, resource: str) -> str:
    if resource == "memory":
        return f"{(amount / (1 << 30)).normalize():f}Gi"
    return f"{amount.normalize():f}"


def baseline_admission(portfolio: Portfolio) -> Baseline:
    """Admit active models in portfolio order on the first eligible flavor with room."""
    quota = nominal_quota(portfolio)
    used = {name: {r: Decimal(0) for r in amounts} for name, amounts in quota.items()}
    result = Baseline()
    for index, model in enumerate(portfolio.models):
        if model.state != "active":
            continue
        needs = pod_requests(model, portfolio)
        reason = "no flavor's nodes can hold it"
        for flavor in eligible_flavors(model, portfolio):
            short = [r for r, amount in needs.items() if used[flavor.name][r] + amount > quota[flavor.name][r]]
            if not short:
                for r, amount in needs.items():
                    used[flavor.name][r] += amount
                result.placed[model.name] = flavor.name
                break
            r = short[0]
            reason = (f"{r} in {flavor.name}: {_show(used[flavor.name][r], r)} used of "
                      f"{_show(quota[flavor.name][r], r)}, needs {_show(needs[r], r)}")
        else:
            result.rejected.append(Rejected(index, model.name, reason))
    return result

"""Portfolios of many teams and models, made from the demo fixture (run by hand, or imported by tests):

    .venv/bin/python tests/benchmarks/make_portfolio.py --models 1000 --teams 20 > /tmp/portfolio.yaml
    .venv/bin/python tests/benchmarks/make_portfolio.py --example > tests/fixtures/portfolios/valid/teams/portfolio.yaml

Scale portfolios clone the demo's Granite model, each clone with weights of its own (its own upload Job and
PVC), over `--teams` teams that share two GPU flavors in one cohort. Each team has one 1-GPU node and one 4-GPU
node's worth of quota and lends half of the 4-GPU share; a team's first model runs, the rest are stopped.

`--example` writes the 20-team example: two organisations (Kueue Cohorts under the root cohort, fair sharing on),
research and product, ten teams each; every team serves a 4-GPU chat model; team-01's sits stopped, so research
lends its four GPUs and team-11 borrows them for a batch model of low priority, while team-12 runs a second model on
product's own node. Its scenario starts team-01's production model: Kueue reclaims the GPUs across the
organisations (team-01 is within its own quota), preempting team-11's borrower.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios" / "valid" / "demo" / "portfolio.yaml"
PRIORITIES = [
    {"name": "production", "value": 1000, "description": "Customer-facing models; reclaim lent GPUs first"},
    {"name": "standard", "value": 500, "description": "Team models"},
    {"name": "experimental", "value": 100, "description": "Batch and trials; the first to give GPUs back"},
]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _demo() -> dict[str, Any]:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def _team_base(teams: int, *, lend_half: bool) -> dict[str, Any]:
    portfolio = _demo()
    portfolio.pop("scenarios", None)
    portfolio["kueue"] = {**portfolio["kueue"], "cohort": "gpuaas", "priorityClasses": PRIORITIES}
    for flavor in portfolio["flavors"]:
        flavor["nodes"] = teams
        flavor["quota"] = {"gpus": flavor["gpusPerNode"] * teams}
    portfolio["teams"] = [{
        "name": f"team-{t:02d}",
        "quota": [
            {"flavor": "nvidia-l4-1gpu", "gpus": 1},
            {"flavor": "nvidia-l4-4gpu", "gpus": 4, **({"lendingLimit": 2} if lend_half else {})},
        ],
    } for t in range(1, teams + 1)]
    return portfolio


def scale(models: int, teams: int = 20) -> dict[str, Any]:
    """`models` clones of the Granite model, each with its own weights, spread over `teams` teams."""
    portfolio = _team_base(teams, lend_half=True)
    granite = next(m for m in portfolio["models"] if m["name"] == "granite-8b-agent")
    clones = []
    for i in range(models):
        clone = copy.deepcopy(granite)
        team = i % teams + 1
        clone["name"] = f"granite-{i:05d}"
        clone["displayName"] = f"Granite-3.1-8B Agent #{i}"
        clone["weights"] = {**clone["weights"], "huggingFace": f"example-org/granite-{i:05d}",
                            "s3Prefix": f"granite-{i:05d}"}
        clone["team"] = f"team-{team:02d}"
        clone["priority"] = PRIORITIES[i % len(PRIORITIES)]["name"]
        clone["state"] = "active" if i < teams else "queued"  # each team's first model runs
        clones.append(clone)
    portfolio["models"] = clones
    return portfolio


def example(teams: int = 20) -> dict[str, Any]:
    """Two organisations of `teams // 2` teams each, under the root cohort, with fair sharing."""
    portfolio = _team_base(teams, lend_half=False)
    portfolio["kueue"]["fairSharing"] = True
    half = teams // 2
    # One more 4-GPU node: the product organisation's own pool.
    four = next(f for f in portfolio["flavors"] if f["name"] == "nvidia-l4-4gpu")
    four["nodes"] = teams + 1
    four["quota"] = {"gpus": four["gpusPerNode"] * (teams + 1)}
    cohorts = [
        {"name": "research", "quota": [{"flavor": "nvidia-l4-4gpu", "gpus": 0, "lendingLimit": 4}], "weight": 2},
        {"name": "product", "quota": [{"flavor": "nvidia-l4-4gpu", "gpus": 4, "lendingLimit": 4}]},
    ]
    portfolio = {**{k: v for k, v in portfolio.items() if k != "teams"}, "cohorts": cohorts, "teams": portfolio["teams"]}
    for team in portfolio["teams"]:
        team["cohort"] = "research" if int(team["name"].removeprefix("team-")) <= half else "product"
    demo = {m["name"]: m for m in portfolio["models"]}
    models = []
    for t in range(1, teams + 1):
        chat = copy.deepcopy(demo["mistral-3-bf16"])
        chat.update(name=f"team-{t:02d}-chat", displayName=f"Team {t:02d} chat (4-GPU)", team=f"team-{t:02d}",
                    priority="production" if t == 1 else "standard", state="queued" if t == 1 else "active")
        models.append(chat)
    borrower, pooled = f"team-{half + 1:02d}", f"team-{half + 2:02d}"
    for team, priority, what in ((borrower, "experimental", "batch reasoning"), (pooled, "standard", "reasoning")):
        second = copy.deepcopy(demo["gpt-oss-20b"])
        second.update(name=f"{team}-batch", displayName=f"Team {team[-2:]} {what} (4-GPU)", team=team, priority=priority,
                      state="active", useCase=f"overnight {what}")
        models.append(second)
    portfolio["models"] = models
    portfolio["scenarios"] = [{
        "name": "reclaim-across-organisations",
        "description": (
            "Two organisations share the GPUs: research (team-01 to team-10) lends at most one node's worth to the "
            "other, product (team-11 to team-20) has a node of its own besides its teams' quota. Every 4-GPU node is "
            f"busy: team-01's production model is stopped, so research lends its four GPUs, and {borrower}'s "
            f"experimental batch model runs on them; {pooled}'s second model runs on product's own node. When team-01 "
            "starts its model it asks for no more than its own quota, so Kueue reclaims across the organisations: fair "
            f"sharing preempts the lowest-priority workload of the product queues that borrow, {borrower}'s batch "
            f"model, while {pooled}'s model on product's pool keeps running. When team-01 stops again, the batch model "
            "borrows the GPUs once more."),
        "steps": [
            {"title": "Start team-01's production model; Kueue reclaims the GPUs product borrowed from research",
             "enable": ["team-01-chat"],
             "expect": {"team-01-chat": {"state": "admitted", "flavor": "nvidia-l4-4gpu"},
                        f"{borrower}-batch": "preempted",
                        f"{borrower}-chat": {"state": "admitted", "flavor": "nvidia-l4-4gpu"},
                        f"{pooled}-batch": {"state": "admitted", "flavor": "nvidia-l4-4gpu"}}},
            {"title": f"Stop it again; {borrower}'s batch model borrows the GPUs once more",
             "disable": ["team-01-chat"],
             "expect": {"team-01-chat": "off", f"{borrower}-batch": {"state": "admitted", "flavor": "nvidia-l4-4gpu"}}},
        ],
    }]
    return portfolio


def dump(portfolio: dict[str, Any]) -> str:
    header = "# yaml-language-server: $schema=../../../../../schemas/portfolio.schema.json\n"
    return header + yaml.dump(portfolio, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--example", action="store_true", help="the 20-team example with its reclaim scenario")
    args = parser.parse_args(argv)
    sys.stdout.write(dump(example(args.teams) if args.example else scale(args.models, args.teams)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

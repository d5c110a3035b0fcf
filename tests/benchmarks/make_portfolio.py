"""Portfolios of many teams and models, made from the demo fixture (run by hand, or imported by tests):

    .venv/bin/python tests/benchmarks/make_portfolio.py --models 1000 --teams 20 > /tmp/portfolio.yaml
    .venv/bin/python tests/benchmarks/make_portfolio.py --example > tests/fixtures/portfolios/valid/teams/portfolio.yaml

Scale portfolios clone the demo's Granite model, each clone with weights of its own (its own upload Job and
PVC), over `--teams` teams that share two GPU flavors in one cohort. Each team has one 1-GPU node and one 4-GPU
node's worth of quota and lends half of the 4-GPU share; a team's first model runs, the rest are stopped.

`--example` writes the 20-team example: every team serves a 4-GPU chat model; team-01's sits stopped, so its four
GPUs are lent, and team-02 borrows them for a batch model of low priority. Its scenario starts team-01's
production model: Kueue reclaims the lent GPUs (team-01 is within its own quota), preempting team-02's borrower.
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
    portfolio = _team_base(teams, lend_half=False)
    demo = {m["name"]: m for m in portfolio["models"]}
    models = []
    for t in range(1, teams + 1):
        chat = copy.deepcopy(demo["mistral-3-bf16"])
        chat.update(name=f"team-{t:02d}-chat", displayName=f"Team {t:02d} chat (4-GPU)", team=f"team-{t:02d}",
                    priority="production" if t == 1 else "standard", state="queued" if t == 1 else "active")
        models.append(chat)
    batch = copy.deepcopy(demo["gpt-oss-20b"])
    batch.update(name="team-02-batch", displayName="Team 02 batch reasoning (4-GPU)", team="team-02",
                 priority="experimental", state="active", useCase="overnight batch reasoning")
    models.append(batch)
    portfolio["models"] = models
    portfolio["scenarios"] = [{
        "name": "reclaim-lent-gpus",
        "description": (
            "team-01's production model is stopped, so team-01 lends its four GPUs to the cohort, and team-02's "
            "experimental batch model runs on them. Every 4-GPU node is busy. When team-01 starts its model, it asks for "
            "no more than its own quota, so Kueue reclaims: it preempts the borrower of lowest priority, team-02's batch "
            "model, and team-02's own model keeps running. When team-01 stops again, the batch model gets the GPUs back."),
        "steps": [
            {"title": "Start team-01's production model; Kueue reclaims the GPUs team-02 borrowed",
             "enable": ["team-01-chat"],
             "expect": {"team-01-chat": {"state": "admitted", "flavor": "nvidia-l4-4gpu"},
                        "team-02-batch": "preempted",
                        "team-02-chat": {"state": "admitted", "flavor": "nvidia-l4-4gpu"}}},
            {"title": "Stop it again; team-02's batch model borrows the GPUs once more",
             "disable": ["team-01-chat"],
             "expect": {"team-01-chat": "off", "team-02-batch": {"state": "admitted", "flavor": "nvidia-l4-4gpu"}}},
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

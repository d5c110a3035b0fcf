"""Random small portfolios for differential runs of the simulator against the real Kueue (run by hand, or imported):

    .venv/bin/python tests/differential/portfolios.py --seed 7 > /tmp/random-7.yaml
    .venv/bin/python tests/differential/portfolios.py --seeds 0-499 --out /tmp/random   # one file per seed
    .venv/bin/python -m generator scenarios --portfolio /tmp/random-7.yaml

Each seed gives one portfolio, the same on every machine: one to three GPU flavors, either one namespace or two to
four teams (in a flat cohort or under one or two organisations with pools and limits of their own, with or without
fair sharing and weights), zero to three priority classes, random preemption and fungibility policies, two to six
models of one, two or four GPUs, and three to six steps that switch models on and off in random order. The file is a
valid portfolio whose scenario `random-<seed>` holds the steps and, as expectations, what the simulator decided after
each: `scenarios` replays it, and the real Kueue run must agree with every expectation.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generator.admission.replay import Replay, Step, as_scenario, replay  # noqa: E402
from generator.pipeline import prepare  # noqa: E402

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios" / "valid" / "minimal" / "portfolio.yaml"
POLICIES_WITHIN = ("Never", "LowerPriority", "LowerOrNewerEqualPriority")
POLICIES_RECLAIM = ("Never", "LowerPriority", "Any")


@dataclass
class Case:
    seed: int
    portfolio: dict[str, Any]  # without the scenario
    steps: list[Step]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` cut at random into `parts` non-negative shares."""
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _flavors(rng: random.Random) -> list[dict[str, Any]]:
    flavors = []
    for index in range(rng.randint(1, 3)):
        per_node, nodes = rng.choice((1, 2, 4)), rng.randint(1, 3)
        flavors.append({"name": f"gpu-{index}", "instanceType": f"g{index}.{per_node}xlarge", "gpusPerNode": per_node,
                        "cpuPerNode": "16", "memoryPerNode": "64Gi", "nodes": nodes,
                        "quota": {"gpus": rng.randint(per_node, per_node * nodes)}})
    return flavors


def _kueue(rng: random.Random, teams: bool) -> dict[str, Any]:
    reclaim = rng.choice(POLICIES_RECLAIM)
    preemption: dict[str, Any] = {"withinClusterQueue": rng.choice(POLICIES_WITHIN), "reclaimWithinCohort": reclaim}
    if teams and reclaim != "Never" and rng.random() < 0.3:  # Kueue refuses borrowWithinCohort with reclaim Never
        preemption["borrowWithinCohort"] = {"policy": "LowerPriority", **(
            {"maxPriorityThreshold": rng.choice((0, 100))} if rng.random() < 0.5 else {})}
    kueue: dict[str, Any] = {
        "queueingStrategy": rng.choice(("BestEffortFIFO", "BestEffortFIFO", "StrictFIFO")),
        "preemption": preemption,
        "flavorFungibility": {"whenCanBorrow": rng.choice(("Borrow", "TryNextFlavor")),
                              "whenCanPreempt": rng.choice(("Preempt", "TryNextFlavor"))},
    }
    classes = [{"name": name, "value": value} for name, value in (("low", 10), ("mid", 100), ("high", 1000))]
    if count := rng.randint(0, 3):
        kueue["priorityClasses"] = classes[:count]
    if teams and rng.random() < 0.4:
        kueue["fairSharing"] = True
    return kueue


def _teams(rng: random.Random, flavors: list[dict[str, Any]], fair: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Teams sharing every flavor's quota, and maybe organisations holding what the teams leave."""
    names = [f"t{i}" for i in range(rng.randint(2, 4))]
    teams: list[dict[str, Any]] = [{"name": n, "quota": []} for n in names]
    cohorts: list[dict[str, Any]] = []
    organisations = [f"org-{c}" for c in "ab"[:rng.randint(0, 2)]]
    for index, org in enumerate(organisations):
        cohort: dict[str, Any] = {"name": org, "quota": []}
        if index and rng.random() < 0.5:
            cohort["parent"] = organisations[0]
        if fair and rng.random() < 0.5:
            cohort["weight"] = rng.choice((0.5, 1, 2))
        cohorts.append(cohort)
    for flavor in flavors:
        shares = _split(rng, flavor["quota"]["gpus"], len(teams) + len(cohorts) + 1)  # the last share: nobody's
        for team, gpus in zip(teams, shares, strict=False):
            if gpus or rng.random() < 0.3:
                quota: dict[str, Any] = {"flavor": flavor["name"], "gpus": gpus}
                if rng.random() < 0.3:
                    quota["lendingLimit"] = rng.randint(0, gpus)
                if rng.random() < 0.3:
                    quota["borrowingLimit"] = rng.randint(0, 4)
                team["quota"].append(quota)
        for cohort, gpus in zip(cohorts, shares[len(teams):], strict=False):
            if gpus:
                quota = {"flavor": flavor["name"], "gpus": gpus}
                if rng.random() < 0.3:
                    quota["lendingLimit"] = rng.randint(0, gpus)
                if rng.random() < 0.2:
                    quota["borrowingLimit"] = rng.randint(0, 4)
                cohort["quota"].append(quota)
    for team in teams:
        if organisations and rng.random() < 0.8:
            team["cohort"] = rng.choice(organisations)
        if fair and rng.random() < 0.4:
            team["weight"] = rng.choice((0.5, 1, 2))
    return teams, cohorts


def random_case(seed: int) -> Case:
    rng = random.Random(seed)
    base = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    portfolio = {k: v for k, v in base.items() if k not in ("flavors", "models", "modelDefaults")}
    portfolio["modelDefaults"] = {"resources": [
        {"gpus": g, "requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}} for g in (1, 2, 4)]}
    flavors = _flavors(rng)
    use_teams = rng.random() < 0.7
    portfolio["kueue"] = _kueue(rng, use_teams)
    portfolio["flavors"] = flavors
    teams: list[dict[str, Any]] = []
    if use_teams:
        teams, cohorts = _teams(rng, flavors, bool(portfolio["kueue"].get("fairSharing")))
        if cohorts:
            portfolio["cohorts"] = cohorts
        portfolio["teams"] = teams
    template = base["models"][0]
    sizes = sorted({g for f in flavors for g in (1, 2, 4) if g <= f["gpusPerNode"]})
    classes = [c["name"] for c in portfolio["kueue"].get("priorityClasses", [])]
    models = []
    for index in range(rng.randint(2, 6)):
        model = copy.deepcopy(template)
        model.update(name=f"m{index}", displayName=f"Model {index}", gpus=rng.choice(sizes),
                     state=rng.choice(("active", "queued")))
        if teams:
            model["team"] = rng.choice(teams)["name"]
        if classes and rng.random() < 0.7:
            model["priority"] = rng.choice(classes)
        models.append(model)
    portfolio["models"] = models
    running = {m["name"] for m in models if m["state"] == "active"}
    steps = []
    for _ in range(rng.randint(3, 6)):
        name = rng.choice([m["name"] for m in models])
        if name in running:
            running.discard(name)
            steps.append(Step(disable=(name,)))
        else:
            running.add(name)
            steps.append(Step(enable=(name,)))
    return Case(seed, portfolio, steps)


def dump(portfolio: dict[str, Any]) -> str:
    return yaml.dump(portfolio, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120)


def replayable(case: Case) -> tuple[str, Replay]:
    """The case as a portfolio file whose scenario holds the steps and the simulator's answer after each."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "portfolio.yaml"
        path.write_text(dump(case.portfolio), encoding="utf-8")
        loaded = prepare(path, display_name="portfolio.yaml")
    result = replay(loaded.portfolio, loaded.tree, case.steps)
    scenario = as_scenario(f"random-{case.seed}", f"Random portfolio of seed {case.seed}: models switched on and off; "
                           "every expectation is what the simulator decided, and the real Kueue must agree.",
                           case.steps, result)
    header = (f"# Random portfolio, seed {case.seed} (tests/differential/portfolios.py). Replay: "
              "python -m generator scenarios --portfolio <this file>\n")
    return header + dump({**case.portfolio, "scenarios": [scenario]}), result


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, help="one seed: its portfolio on standard output")
    parser.add_argument("--seeds", help="a range of seeds, e.g. 0-499, written as random-<seed>.yaml into --out")
    parser.add_argument("--out", type=Path, help="directory for --seeds")
    args = parser.parse_args(argv)
    if args.seed is not None:
        sys.stdout.write(replayable(random_case(args.seed))[0])
        return 0
    if not args.seeds or not args.out:
        parser.error("give --seed N, or --seeds A-B and --out DIR")
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in _seeds(args.seeds):
        (args.out / f"random-{seed}.yaml").write_text(replayable(random_case(seed))[0], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

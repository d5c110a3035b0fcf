"""The simulator's side of the differential run against the real Kueue: random small portfolios (seeded, so that a
failing example is one number), each replayable with `scenarios`, and what the simulator decides at each step."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from differential.portfolios import random_case, replayable

from conftest import load_text
from generator.admission.replay import Step, replay
from generator.admission.scenarios import run_all
from generator.cli import main

CI_SEEDS = range(50)  # the fixed set CI tries; a longer run by hand: portfolios.py --seeds 0-499 --out DIR


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_a_random_portfolio_replays_as_the_simulator_decided(tmp_path: Path, seed: int) -> None:
    text, result = replayable(random_case(seed))
    loaded = load_text(tmp_path, text)  # a valid portfolio: no error (warnings allowed)
    [run] = run_all(loaded.portfolio, loaded.tree)
    assert run.passed, [m for s in run.steps for m in s.mismatches]
    quota = {f.name: f.quota.gpus for f in loaded.portfolio.flavors}
    gpus = {m.name: m.gpus for m in loaded.portfolio.models}
    on = {m.name for m in loaded.portfolio.models if m.state == "active"}
    steps = yaml.safe_load(text)["scenarios"][0]["steps"]
    assert len(steps) == len(result.steps) >= 3
    for step, states in zip(steps, result.steps, strict=True):
        on = (on | set(step["enable"])) - set(step["disable"])
        assert {name for name, o in states.items() if o.state != "off"} == on
        used = Counter[str]()
        for name, outcome in states.items():
            assert outcome.state in ("admitted", "pending", "preempted", "off")
            assert (outcome.flavor is not None) == (outcome.state == "admitted")
            if outcome.flavor:
                used[outcome.flavor] += gpus[name]
        assert all(used[f] <= quota[f] for f in used), (used, quota)  # never more than the flavor's quota


def test_a_seed_is_the_same_portfolio_everywhere() -> None:
    assert replayable(random_case(3))[0] == replayable(random_case(3))[0]
    assert replayable(random_case(3))[0] != replayable(random_case(4))[0]


def test_the_cases_cover_the_shapes_they_promise() -> None:
    cases = [random_case(seed) for seed in CI_SEEDS]
    assert any("teams" not in c.portfolio for c in cases) and any("cohorts" in c.portfolio for c in cases)
    assert any(c.portfolio["kueue"].get("fairSharing") for c in cases)
    assert any(len(c.portfolio["flavors"]) == 3 for c in cases)
    assert any(any(s.enable for s in c.steps) and any(s.disable for s in c.steps) for c in cases)


def test_the_file_replays_through_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "random-11.yaml"
    path.write_text(replayable(random_case(11))[0], encoding="utf-8")
    assert main(["scenarios", "--portfolio", str(path)]) == 0
    assert "PASS random-11" in capsys.readouterr().out


def test_replay_reports_kueue_states_and_the_node_fit_apart(tmp_path: Path) -> None:
    """A quota above the nodes: Kueue admits the second model, no node holds it; the comparison sees `admitted`."""
    text = replayable(random_case(0))[0]
    data = yaml.safe_load(text)
    data.pop("scenarios")
    data.pop("teams", None), data.pop("cohorts", None)
    data["kueue"].pop("fairSharing", None)
    data["flavors"] = [{**data["flavors"][0], "gpusPerNode": 1, "nodes": 1, "quota": {"gpus": 2}}]
    data["models"] = [{**data["models"][0], "name": n, "gpus": 1, "state": "queued", "flavor": None} for n in ("a", "b")]
    for model in data["models"]:
        model.pop("team", None), model.pop("flavor", None)
    loaded = load_text(tmp_path, yaml.safe_dump(data, sort_keys=False))
    result = replay(loaded.portfolio, loaded.tree, [Step(enable=("a",)), Step(enable=("b",))])
    second = result.steps[1]
    assert second["a"].state == second["b"].state == "admitted"
    assert [second["a"].placed, second["b"].placed] == [True, False]
    assert [o.state for o in second.values()].count("admitted") == 2

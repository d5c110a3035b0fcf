"""The simulator's side of the differential run against the real Kueue: random small portfolios (seeded, so that a
failing example is one number), each replayable with `scenarios`, and what the simulator decides at each step."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from differential.portfolios import CI_SEEDS, random_case, replayable
from differential.run import _seeds

from conftest import load_text
from generator.admission.replay import Step, replay
from generator.admission.scenarios import run_all
from generator.cli import main
from generator.sandbox.box import Box
from generator.sandbox.watch import AttemptWatch, WorkloadWatch


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


def _workload(*conditions: tuple[str, str]) -> dict[str, object]:
    return {"metadata": {"uid": "u1", "namespace": "d0r1-team", "name": "pod-m1-ab12c"},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}


def test_the_workload_watch_notes_when_quota_is_reserved_and_released(tmp_path: Path) -> None:
    """What a differential step waits on (generator.sandbox.differential, settled (5)): quota released in the run."""
    watch = WorkloadWatch(Box(tmp_path / "box"))
    watch._record("ADDED", _workload(("QuotaReserved", "False")))
    assert watch.released == {} and watch.reserved == {} and "u1" in watch.added
    watch._record("MODIFIED", _workload(("QuotaReserved", "True")))
    assert "u1" in watch.reserved and watch.released == {}
    watch._record("MODIFIED", _workload(("QuotaReserved", "True"), ("Finished", "True")))  # its pod went
    assert set(watch.released) == {"d0r1-team"}
    released = watch.released["d0r1-team"]
    watch._record("DELETED", _workload(("QuotaReserved", "True"), ("Finished", "True")))
    assert watch.released["d0r1-team"] == released  # a finished Workload going releases nothing more


def test_the_attempt_watch_notes_kueue_s_pending_events_per_workload(tmp_path: Path) -> None:
    watch = AttemptWatch(Box(tmp_path / "box"))
    assert "fieldSelector=involvedObject.kind%3DWorkload%2Creason%3DPending" in watch.query
    event = {"metadata": {"uid": "e1", "namespace": "d0r1-team"}, "reason": "Pending",
             "involvedObject": {"kind": "Workload", "namespace": "d0r1-team", "name": "pod-m1-ab12c"}}
    watch._record("ADDED", event)
    first = watch.attempted[("d0r1-team", "pod-m1-ab12c")]
    watch._record("MODIFIED", {**event, "count": 2})  # the same event again: client-go counts it
    assert watch.attempted[("d0r1-team", "pod-m1-ab12c")] >= first


def test_the_run_takes_ranges_and_lists_of_seeds() -> None:
    assert _seeds("0-3") == [0, 1, 2, 3] and _seeds("7") == [7] and _seeds("46,50,58-59") == [46, 50, 58, 59]


@pytest.mark.parametrize(("seed", "step", "kueue"), [
    # What the real Kueue v0.16.1 did in the box (tests/differential/run.py --seeds 0-499), reproduced alone.
    (335, 3, {"m1": "pending", "m3": "admitted"}),
    (335, 4, {"m1": "pending", "m3": "preempted"}),
    (292, 2, {"m3": "pending", "m5": "admitted"}),
])
def test_a_preempted_model_queues_behind_older_pods_in_the_steps_after(tmp_path: Path, seed: int, step: int,
                                                                       kueue: dict[str, str]) -> None:
    """A preempted predictor pod is deleted and its ReplicaSet makes a new one: a new Workload, queued as the newest
    not only in the step of the preemption but in every later step, so a pod that waited since before it is admitted
    first when quota comes free (StrictFIFO, equal priorities)."""
    case = random_case(seed)
    text, _ = replayable(case)
    loaded = load_text(tmp_path, text)
    outcomes = replay(loaded.portfolio, loaded.tree, case.steps).steps[step - 1]
    assert {model: outcomes[model].state for model in kueue} == kueue

"""The differential run against the real Kueue v0.16.1 (issue 16): the simulator and the real Kueue, step by step.

One box without KServe (etcd, the API server, scheduler, controller manager, kwok, Kueue), several portfolios at
once in it (generator.sandbox.differential): a stand-in makes the Deployment KServe would make when a model is
switched on and deletes it when it is switched off. Every random portfolio of the fixed CI seeds
(tests/differential/portfolios.py) must be decided by the real Kueue exactly as the simulator decides it; a
difference fails the test with the portfolio written to a file and the commands that replay it. The 20-team example's
scenario (two organisations, fair sharing) must show on the real Kueue, with fair sharing on, what `plan` shows.

The longer run by hand: `tests/differential/run.py --seeds 0-499` (README, "Differential testing").
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from differential.portfolios import CI_SEEDS
from differential.run import Summary, prepared, report, run_on

from box.boxes import FIGURES, TEAMS, Boxes, require_go
from generator.admission.replay import Step, replay
from generator.admission.scenarios import run_scenario
from generator.pipeline import prepare
from generator.sandbox.build import ensure_built
from generator.sandbox.differential import KueueBox, Slot, compare

SLOTS = 4  # portfolios at once: the box's API server and Kueue are busier, the run shorter, on 2 cores


@pytest.fixture(scope="module")
def kueue_box(boxes: Boxes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KueueBox]:
    require_go()
    boxes.close()  # one box at a time: the shared box goes (this module runs last, conftest.py)
    box = KueueBox(tmp_path_factory.mktemp("differential") / "box", bin_dir=ensure_built(lambda line: None),
                   progress=lambda line: None)
    try:
        started = time.monotonic()
        box.start()
        FIGURES.append(f"differential: box without KServe started in {time.monotonic() - started:.1f} s")
        yield box
    finally:
        box.stop()


def test_random_portfolios_are_decided_by_the_real_kueue_as_the_simulator_decides(kueue_box: KueueBox,
                                                                                   tmp_path: Path) -> None:
    items = [prepared(seed) for seed in CI_SEEDS]
    started = time.monotonic()
    restarts = run_on(kueue_box, items, slots=SLOTS)
    summary = Summary(items, time.monotonic() - started, 0.0, restarts, os.getloadavg(), SLOTS)
    text = report(summary, tmp_path)
    FIGURES.append("differential: " + text.splitlines()[-1])
    assert summary.errors == [] and summary.reproduced == [], text
    # Not a vacuous run: every portfolio was run on Kueue, and the seeds make it wait, preempt and choose flavors.
    assert all(item.real is not None and len(item.real.replay.steps) == len(item.case.steps) for item in items)
    seen = {(o.state, o.flavor) for item in items for states in [item.simulated.baseline, *item.simulated.steps]
            for o in states.values()}
    assert {"pending", "preempted", "off"} <= {state for state, _ in seen}
    assert len({flavor for _, flavor in seen if flavor}) == 3


def test_the_20_team_example_reclaims_across_organisations_on_the_real_kueue_as_plan_says(kueue_box: KueueBox) -> None:
    """research lends product its spare GPUs; when team-01 starts its model, Kueue (fair sharing on, as the portfolio
    asks) preempts product's borrowing batch model and team-01's model is admitted; stopped again, the batch model
    borrows once more: plan, the scenario and the real Kueue agree at every step."""
    loaded = prepare(TEAMS, display_name="portfolio.yaml")
    portfolio, tree = loaded.portfolio, loaded.tree
    scenario = next(s for s in portfolio.scenarios if s.name == "reclaim-across-organisations")
    assert run_scenario(portfolio, tree, scenario).passed  # plan meets the scenario's claims
    steps = [Step(enable=tuple(s.enable), disable=tuple(s.disable)) for s in scenario.steps]
    simulated = replay(portfolio, tree, steps, start=scenario.start)
    assert portfolio.kueue.fair_sharing
    kueue_box.use_fair_sharing(True)
    started = time.monotonic()
    slot = kueue_box.slots[0] if kueue_box.slots else Slot(kueue_box, 0)
    real = slot.run(portfolio, tree, steps, start=scenario.start)
    FIGURES.append(f"differential: the 20-team scenario ({len(steps)} steps, {len(portfolio.models)} models) on the "
                   f"real Kueue in {time.monotonic() - started:.1f} s")
    differences = compare(simulated, real.replay)
    assert differences == [], "\n".join(str(d) for d in differences)
    first, second = real.replay.steps
    assert first["team-11-batch"].state == "preempted" and first["team-01-chat"].state == "admitted"
    assert second["team-11-batch"].state == "admitted" and second["team-01-chat"].state == "off"

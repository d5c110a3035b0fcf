"""Differential run by hand: random portfolios (tests/differential/portfolios.py) through the simulator and through the
real Kueue in one box (generator.sandbox.differential), compared step by step.

    .venv/bin/python tests/differential/run.py --seeds 0-499            # a box of its own, 4 slots
    .venv/bin/python tests/differential/run.py --seeds 0-49 --slots 6 --out /tmp/differences

Every difference is written as a replayable portfolio (`random-<seed>.yaml` in --out) and printed with the step, the
model, both answers, Kueue's message, and the commands that replay it. A portfolio that differs is run once more, alone
in the box and with a longer quiet period, before it counts: a difference that does not come back is reported as not
reproduced. Exit 0 when no difference is reproduced, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from differential.portfolios import Case, random_case, replayable  # noqa: E402
from generator.admission.replay import Replay  # noqa: E402
from generator.pipeline import Prepared, prepare  # noqa: E402
from generator.sandbox.differential import QUIET, Difference, KueueBox, RealRun, Slot, compare, run_slots  # noqa: E402

CONFIRM_QUIET = 4.0  # seconds of quiet when a difference is run again, alone


@dataclass
class Portfolio:
    case: Case
    text: str  # the replayable portfolio, its scenario holding the simulator's answer
    loaded: Prepared
    simulated: Replay
    real: RealRun | None = None
    differences: list[Difference] = field(default_factory=list)
    confirmed: list[Difference] | None = None  # after the second run: None when it was not needed
    error: str | None = None

    @property
    def seed(self) -> int:
        return self.case.seed

    @property
    def fair_sharing(self) -> bool:
        return bool(self.case.portfolio["kueue"].get("fairSharing"))


def prepared(seed: int) -> Portfolio:
    case = random_case(seed)
    text, simulated = replayable(case)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"random-{seed}.yaml"
        path.write_text(text, encoding="utf-8")
        loaded = prepare(path, display_name=path.name)
    return Portfolio(case, text, loaded, simulated)


@dataclass
class Summary:
    portfolios: list[Portfolio]
    seconds: float
    box_seconds: float
    restart_seconds: float
    load: tuple[float, float, float]
    slots: int

    @property
    def reproduced(self) -> list[Portfolio]:
        return [p for p in self.portfolios if p.confirmed]

    @property
    def flaky(self) -> list[Portfolio]:
        return [p for p in self.portfolios if p.differences and p.confirmed == []]

    @property
    def errors(self) -> list[Portfolio]:
        return [p for p in self.portfolios if p.error]


def _job(item: Portfolio, done: Callable[[Portfolio], None]) -> Callable[[Slot], None]:
    def job(slot: Slot) -> None:
        try:
            item.real = slot.run(item.loaded.portfolio, item.loaded.tree, item.case.steps)
            item.differences = compare(item.simulated, item.real.replay)
        except Exception as error:  # one portfolio's failure is reported with its seed; the others go on
            item.error = f"{type(error).__name__}: {error}"
        done(item)
    return job


def run_on(box: KueueBox, items: Sequence[Portfolio], *, slots: int = 4, quiet: float = QUIET,
           progress: Callable[[str], None] = lambda line: None) -> float:
    """Run the portfolios through the real Kueue of a started box, those without fair sharing first (Kueue restarted
    between the two groups when its setting changes), then every portfolio that differed once more, alone; returns
    the seconds Kueue's restarts took."""
    restarts = 0.0
    lock = threading.Lock()
    count = [0]

    def done(item: Portfolio) -> None:
        with lock:
            count[0] += 1
            verdict = item.error or (f"{len(item.differences)} difference(s)" if item.differences else "same")
            took = " ".join(f"{k} {v:.1f}" for k, v in (item.real.seconds if item.real else {}).items())
            if item.real and item.real.untried:
                took += f"; {item.real.untried} step(s) settled without Kueue's try"
            progress(f"[{count[0]}/{len(items)}] random-{item.seed}: {verdict} ({took})")

    for fair in (False, True):
        group = [i for i in items if i.fair_sharing == fair]
        if not group:
            continue
        restarts += box.use_fair_sharing(fair)
        run_slots(box, [_job(i, done) for i in group], slots)
        for item in (i for i in group if i.differences):  # again, alone and slower: is it reproducible?
            box.slots[0].quiet = CONFIRM_QUIET
            try:
                again = box.slots[0].run(item.loaded.portfolio, item.loaded.tree, item.case.steps)
                item.confirmed = compare(item.simulated, again.replay)
            except Exception as error:
                item.error = f"{type(error).__name__}: {error} (while running it again)"
            box.slots[0].quiet = quiet
    return restarts


def run(seeds: Sequence[int], *, state: Path, bin_dir: Path, slots: int = 4, quiet: float = QUIET,
        progress: Callable[[str], None] = lambda line: None) -> Summary:
    """Run every seed's portfolio through both sides in one box started in `state` (stopped at the end)."""
    started = time.monotonic()
    items = [prepared(seed) for seed in seeds]
    box = KueueBox(state, bin_dir=bin_dir, progress=progress, quiet=quiet)
    try:
        box_started = time.monotonic()
        box.start()
        box_seconds = time.monotonic() - box_started
        restarts = run_on(box, items, slots=slots, quiet=quiet, progress=progress)
    finally:
        box.stop()
    return Summary(items, time.monotonic() - started, box_seconds, restarts, os.getloadavg(), slots)


def report(summary: Summary, out: Path) -> str:
    lines = []
    for item in summary.portfolios:
        if not (item.differences or item.error):
            continue
        path = out / f"random-{item.seed}.yaml"
        path.write_text(item.text, encoding="utf-8")
        status = ("reproduced" if item.confirmed else "not reproduced when run again alone") if item.differences else "error"
        lines.append(f"random-{item.seed} ({status}): {path}")
        if item.error:
            lines.append(f"  {item.error}")
        reasons = item.real.reasons if item.real else []
        for difference in item.differences:
            lines.append(f"  {difference}")
            said = reasons[difference.step].get(difference.model) if difference.step < len(reasons) else None
            if said:
                lines.append(f"    Kueue: {said}")
        lines.append(f"  replay: python -m generator scenarios --portfolio {path}")
        lines.append(f"          python -m generator sandbox --portfolio {path} --scenario random-{item.seed}")
    steps = sum(len(i.case.steps) + 1 for i in summary.portfolios)
    load = ", ".join(f"{x:.1f}" for x in summary.load)
    lines.append(f"{len(summary.portfolios)} portfolios ({steps} steps with the baselines) on {summary.slots} slots in "
                 f"{summary.seconds:.0f} s (box start {summary.box_seconds:.0f} s, Kueue restarted for fair sharing in "
                 f"{summary.restart_seconds:.0f} s; load average {load}): {len(summary.reproduced)} with a reproduced "
                 f"difference, {len(summary.flaky)} not reproduced, {len(summary.errors)} errors")
    return "\n".join(lines) + "\n"


def _seeds(text: str) -> list[int]:
    """`0-499`, `7`, or a comma-separated list of either (`3,17,40-49`)."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def main(argv: list[str] | None = None) -> int:
    from generator.sandbox.build import ensure_built

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-499", help="seeds: a range (0-499, the default), or ranges and seeds separated by commas")
    parser.add_argument("--slots", type=int, default=4, help="portfolios run at once in the box (default 4)")
    parser.add_argument("--quiet", type=float, default=QUIET, help=f"seconds without a Workload change that settle a "
                        f"step (default {QUIET})")
    parser.add_argument("--out", type=Path, help="where differing portfolios are written (default: a new temporary directory)")
    parser.add_argument("--state", type=Path, help="the box's state directory (default: a new temporary directory)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="differential-"))
    out.mkdir(parents=True, exist_ok=True)
    state = args.state or Path(tempfile.mkdtemp(prefix="differential-box-"))

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    summary = run(_seeds(args.seeds), state=state, bin_dir=ensure_built(say), slots=args.slots, quiet=args.quiet,
                  progress=say)
    sys.stdout.write(report(summary, out))
    return 1 if summary.reproduced or summary.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

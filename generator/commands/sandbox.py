"""`sandbox`: the tree on a real control plane in a box, beside `plan`; `--scenario NAME` replays a scenario on it;
`sandbox down` stops a box left up with --keep."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome, err
from generator.errors import UsageError


def default_crd_dir(args: argparse.Namespace) -> Path:
    return Path(args.root) / ".." / "shared" / "crds"


def _progress(args: argparse.Namespace) -> Callable[[str], None]:
    if args.format == "json":  # one document on standard output, nothing on standard error
        return lambda line: None
    return lambda line: err(line + "\n")


def run(args: argparse.Namespace) -> Outcome:
    from generator.sandbox.box import Box

    progress = _progress(args)
    state = Path(args.state) if args.state else None
    if args.action == "down":
        stopped = Box(state, progress=progress).stop()
        text = f"stopped: {', '.join(stopped)}\n" if stopped else "no box was running\n"
        return Outcome("sandbox", EXIT_OK, text=text, result={"stopped": stopped})
    return _up(args, state, progress)


def _up(args: argparse.Namespace, state: Path | None, say: Callable[[str], None]) -> Outcome:
    from generator.commands.common import environment, load
    from generator.sandbox.apply import sync_tree
    from generator.sandbox.box import Box
    from generator.sandbox.build import ensure_built
    from generator.sandbox.replay import observe, replay_json, replay_scenario, replay_text, scenario_named, step_json, step_text
    from generator.sandbox.stack import stack

    crd_dirs = list(args.crd_dir) or [default_crd_dir(args)]
    for directory in crd_dirs:
        if not directory.is_dir():
            raise UsageError(f"--crd-dir {directory}: not a directory (the upstream CRDs the box serves; "
                             "default ../shared/crds beside the repository)")
    loaded = load(args)
    portfolio, tree = environment(loaded, args.env)
    scenario = None
    if args.scenario is not None:
        scenario = scenario_named(portfolio, args.scenario)
        if scenario is None:
            known = ", ".join(s.name for s in portfolio.scenarios) or "the portfolio declares none"
            raise UsageError(f"unknown scenario {args.scenario!r}; scenarios: {known}")
    started = time.monotonic()
    bin_dir = ensure_built(say)
    box = Box(state, bin_dir=bin_dir, progress=say)
    parts = stack(portfolio, tree, crd_dirs)
    replay, replay_seconds = None, 0.0
    try:
        took = box.start(parts.components)
        up = time.monotonic() - started
        synced = time.monotonic()
        waves = sync_tree(box, tree, portfolio.gitops.application)
        baseline = observe(box, portfolio, tree, title="baseline: the tree as Argo CD syncs it", since=synced)
        if scenario is not None:
            replayed = time.monotonic()
            replay = replay_scenario(box, portfolio, tree, scenario, progress=say)
            replay_seconds = time.monotonic() - replayed
    finally:
        if not args.keep:
            box.stop()
    note = f"box up in {up:.1f} s; the tree synced in {len(waves)} wave(s), settled in {baseline.seconds:.1f} s"
    result: dict[str, Any] = {
        "baseline": step_json(baseline),
        "waves": [{"wave": w.wave, "resources": w.resources, "health": w.health, "waited": w.waited,
                   "seconds": round(w.seconds, 1)} for w in waves],
        "components": {name: round(seconds, 1) for name, seconds in took.items()},
        "running": sorted(parts.running), "kubeconfig": str(box.kubeconfig) if args.keep else None,
        "scenario": replay_json(replay) if replay is not None else None,
    }
    differences = replay.differences if replay is not None else baseline.differences
    if replay is not None:
        text = replay_text(replay)
        note += f"; scenario {replay.scenario} replayed in {replay_seconds:.1f} s"
    else:
        text = step_text(baseline)
    if args.keep:
        text += f"\nthe box is up; stop it with `python -m generator sandbox down`\nexport KUBECONFIG={box.kubeconfig}\n"
    else:
        note += "; the box is stopped (--keep leaves it up)"
    if differences:
        note += f"; {len(differences)} difference(s) between the box and " + ("the scenario" if replay else "plan")
    return Outcome("sandbox", EXIT_PROBLEMS if differences else EXIT_OK, text=text, note=note,
                   diagnostics=loaded.warnings, result=result,
                   summary={"models": len(portfolio.models), "differences": len(differences)})

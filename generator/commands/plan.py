"""`plan`: Kueue admission and node fit of the models, from the baseline with models switched on or off."""

from __future__ import annotations

import argparse

from generator.admission.plan import plan
from generator.admission.present import plan_text, snapshot_json
from generator.commands.common import check_models, environment, load
from generator.console import EXIT_OK, Outcome


def run(args: argparse.Namespace) -> Outcome:
    loaded = load(args)
    check_models(args.enable + args.disable, loaded)
    portfolio, tree = environment(loaded, args.env)
    snapshot = plan(portfolio, tree, enable=args.enable, disable=args.disable, selector_rule=args.selector_rule)
    return Outcome("plan", EXIT_OK, text=plan_text(snapshot, portfolio.cluster.gpu_resource),
                   diagnostics=loaded.warnings, result=snapshot_json(snapshot))

"""The simulator against Kueue's own test tables (kubernetes-sigs/kueue v0.16.1), translated in tests/kueue_tables/:
every translated entry must pass, and every entry of each table is either translated or named as not modelled."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from kueue_tables import (
    REASONS,
    SOURCES,
    UPSTREAM,
    Assign,
    NotModelled,
    Ordering,
    Preemption,
    Preferred,
    Reserve,
    Schedule,
    Share,
    flavors,
)
from kueue_tables import assign as assign_cases
from kueue_tables import fairshare as fairshare_cases
from kueue_tables import preemption as preemption_cases
from kueue_tables import schedule as schedule_cases

from generator.admission.fairsharing import Drs, share
from generator.admission.flavorassigner import FIT, NO_CANDIDATES, NO_FIT, PREEMPT, RECLAIM, Assignment, preferred
from generator.admission.kueue import FairSharing, quantity, simulate
from generator.admission.preemption import candidate_order
from generator.admission.scheduler import admit_running, build_cache, reservation
from generator.admission.steps import flavor_assignment, preemption_targets

ENTRIES: list[Any] = [*preemption_cases.CASES, *assign_cases.CASES, *schedule_cases.CASES, *fairshare_cases.CASES]
TRANSLATED = [e for e in ENTRIES if not isinstance(e, NotModelled)]


def case_id(entry: Any) -> str:
    return f"{entry.test}: {entry.name}"


def _fair(entry: Any) -> FairSharing | None:
    if not entry.fair:
        return None
    strategies = getattr(entry, "strategies", None)
    return FairSharing(strategies) if strategies else FairSharing()


def run_preemption(case: Preemption) -> dict[str, str]:
    if case.usage:
        usage, needed = case.usage, set(case.needed or case.usage)
    else:
        usage = {(fl, res): case.incoming.requests[res] for res, (fl, _) in case.assignment.items()}
        needed = {(fl, res) for res, (fl, mode) in case.assignment.items() if mode == "Preempt"}
    targets = preemption_targets(flavors=case.flavors, cluster_queues=case.queues, cohorts=case.cohorts,
                                 running=case.running, preemptor=case.incoming, usage=usage, needed=needed,
                                 fair_sharing=_fair(case))
    return dict(targets)


def run_assign(case: Assign) -> dict[str, Any]:
    stubbed = case.oracle

    def oracle(fr: tuple[str, str], amount: Decimal) -> tuple[str, int]:
        assert stubbed is not None
        return stubbed.get(fr, ("Preempt", 0))

    got = flavor_assignment(flavors=case.flavors, cluster_queues=case.queues, cohorts=case.cohorts,
                            running=case.running, workload=case.incoming, fair_sharing=_fair(case),
                            oracle=oracle if stubbed is not None else None)
    out: dict[str, Any] = {"mode": got.mode, "flavors": got.flavors if got.mode != "NoFit" else {}}
    if got.mode != "NoFit" and case.borrowing is not None:
        out["borrowing"] = got.borrowing
    if case.tried is not None:
        out["tried"] = {r: i for r, i in got.tried.items() if r in case.tried}
    if case.preempting is not None:
        out["preempting"] = tuple(sorted(res for _, res in got.needs_preemption()))
    if case.victims is not None:
        out["victims"] = tuple(sorted(t.workload.name for t in got.targets))
    return out


def rounded(drs: Drs) -> tuple[int, str]:
    """Kueue's roundedWeightedShare."""
    if drs.zero_weight_borrows():
        return 2 ** 63 - 1, drs.resource
    return math.ceil(drs.weighted()), drs.resource


def run_share(case: Share) -> dict[str, tuple[int, str]]:
    cache = build_cache(flavors("default", "on-demand", "spot"), case.queues, (), "current", case.cohorts)
    admit_running(cache, [replace(w) for w in case.running])
    extra = {fr: quantity(v) for fr, v in case.extra.items()}
    nodes = {**{name: cache.node(name) for name in cache.queues}, **cache.cohorts}
    return {name: rounded(share(node, extra)) for name, node in nodes.items()}


def expected_assign(case: Assign) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": case.mode, "flavors": case.flavors_want}
    if case.mode != "NoFit" and case.borrowing is not None:
        out["borrowing"] = case.borrowing
    if case.tried is not None:
        out["tried"] = case.tried
    if case.preempting is not None:
        out["preempting"] = tuple(sorted(case.preempting))
    if case.victims is not None:
        out["victims"] = tuple(sorted(case.victims))
    return out


def describe(outcome: Any, requested: dict[str, Decimal]) -> str:
    if outcome.state != "admitted":
        return str(outcome.state)
    flavors = set(outcome.flavors.values())
    if len(flavors) == 1:
        return f"admitted:{flavors.pop()}"
    return "admitted:" + ",".join(f"{r}={f}" for r, f in sorted(outcome.flavors.items()))


def run_schedule(case: Schedule) -> dict[str, str]:
    result = simulate(flavors=case.flavors, cluster_queues=case.queues, cohorts=case.cohorts, workloads=case.workloads,
                      fair_sharing=_fair(case), cycles=case.cycles, priority_classes=case.priority_classes)
    by_name = {w.name: w for w in case.workloads}
    return {name: describe(o, by_name[name].requests) for name, o in result.outcomes.items()}


def expected_schedule(case: Schedule) -> dict[str, str]:
    """Every workload: as the table says, else as it was (running ones stay on their flavors, pending ones wait)."""
    out = {}
    for w in case.workloads:
        if w.name in case.want:
            out[w.name] = case.want[w.name]
        elif w.admitted_flavors:
            flavors = set(w.admitted_flavors.values())
            out[w.name] = f"admitted:{flavors.pop()}" if len(flavors) == 1 else "admitted:" + ",".join(
                f"{r}={f}" for r, f in sorted(w.admitted_flavors.items()))
        else:
            out[w.name] = "pending"
    return out


@pytest.mark.parametrize("case", TRANSLATED, ids=case_id)
def test_kueue_table_entry(case: Any) -> None:
    if isinstance(case, Preemption):
        assert run_preemption(case) == case.want
    elif isinstance(case, Reserve):
        cache = build_cache(case.flavors, [case.queue], (), "current", ())
        admit_running(cache, [replace(w) for w in case.running])
        assignment = Assignment(case.mode, usage=dict(case.usage), borrowing=case.borrowing)
        assert reservation(cache, case.queue["metadata"]["name"], assignment) == case.want
    elif isinstance(case, Ordering):
        cache = build_cache([], [], (), "current", ())
        assert [w.name for w in sorted(case.workloads, key=candidate_order(cache, case.queue))] == case.want
    elif isinstance(case, Preferred):
        modes = {"noFit": NO_FIT, "noCandidates": NO_CANDIDATES, "preempt": PREEMPT, "reclaim": RECLAIM, "fit": FIT}
        a, b = (modes[case.a[0]], case.a[1]), (modes[case.b[0]], case.b[1])
        assert preferred(a, b, case.preference) is case.want
    elif isinstance(case, Share):
        assert run_share(case) == case.want
    elif isinstance(case, Assign):
        assert run_assign(case) == expected_assign(case)
    else:
        assert isinstance(case, Schedule)
        assert run_schedule(case) == expected_schedule(case)


def test_every_upstream_entry_is_translated_or_named_as_not_modelled() -> None:
    names = Counter((e.test, e.name) for e in ENTRIES)
    assert [k for k, n in names.items() if n > 1] == []
    per_table = Counter(e.test for e in ENTRIES)
    assert dict(per_table) == UPSTREAM
    assert set(per_table) <= set(SOURCES)
    assert {e.reason for e in ENTRIES if isinstance(e, NotModelled)} <= set(REASONS)


def table_counts() -> dict[str, Any]:
    """Translated and not-modelled entries per table, and the not-modelled ones by reason (the README's figures)."""
    return {
        "translated": Counter(e.test for e in TRANSLATED),
        "not_modelled": Counter(e.reason for e in ENTRIES if isinstance(e, NotModelled)),
        "entries": len(ENTRIES),
    }

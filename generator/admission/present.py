"""Plain-text and JSON views of plans and scenario runs, for terminals and tools."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from generator.admission.objects import show_amount
from generator.admission.plan import CohortUse, QuotaUse, Snapshot
from generator.admission.scenarios import ScenarioRun, describe


def _table(rows: list[list[str]], align_right: Collection[int] = ()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.rjust(widths[i]) if i in align_right else c.ljust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out


def quota_lines(quota: list[QuotaUse]) -> list[str]:
    """Per ClusterQueue when there are several (teams), with a column naming it."""
    several = len({q.queue for q in quota}) > 1
    rows = [[*(["QUEUE"] if several else []), "FLAVOR", "RESOURCE", "USED", "NOMINAL"]]
    rows += [[*([q.queue] if several else []), q.flavor, q.resource, show_amount(q.used, q.resource),
              show_amount(q.nominal, q.resource)] for q in quota]
    return _table(rows, {3, 4} if several else {2, 3})


def cohort_lines(cohorts: list[CohortUse]) -> list[str]:
    """The cohort tree: per cohort and flavor, the GPUs its ClusterQueues use, the quota of every team and cohort
    under it (HOLDS), its own quota, and what it shares among its members (SHARED, Kueue's subtree quota: its own and
    what they lend it)."""
    rows = [["COHORT", "PARENT", "FLAVOR", "USED", "HOLDS", "OWN", "SHARED"]]
    rows += [[c.cohort, c.parent or "-", c.flavor, show_amount(c.used, c.resource), show_amount(c.holds, c.resource),
              show_amount(c.quota, c.resource), show_amount(c.subtree, c.resource)] for c in cohorts]
    return _table(rows, {3, 4, 5, 6})


def model_lines(snapshot: Snapshot) -> list[str]:
    teams = any(m.team for m in snapshot.models)
    rows = [["MODEL", *(["TEAM"] if teams else []), "GPUS", "STATE", "FLAVOR", "REASON"]]
    rows += [[m.name, *([m.team or "-"] if teams else []), str(m.gpus), m.state, m.flavor or "-", m.reason]
             for m in snapshot.models]
    return _table(rows, {2} if teams else {1})


def gpu_summary(snapshot: Snapshot, gpu: str) -> str:
    used = sum((q.used for q in snapshot.quota if q.resource == gpu), Decimal(0))
    nominal = sum((q.nominal for q in snapshot.quota if q.resource == gpu), Decimal(0))
    nominal += sum((c.quota for c in snapshot.cohorts if c.resource == gpu), Decimal(0))  # cohorts' own pools
    asked = sum(m.gpus for m in snapshot.models if m.state != "off")
    return f"GPUs admitted: {used:f} of {nominal:f} (asked for: {asked})"


def plan_text(snapshot: Snapshot, gpu: str) -> str:
    lines = [*model_lines(snapshot), "", *quota_lines(snapshot.quota), ""]
    if snapshot.cohorts:
        lines += [*cohort_lines(snapshot.cohorts), ""]
    lines.append(gpu_summary(snapshot, gpu))
    lines += [f"note: {n}" for n in snapshot.notes]
    return "\n".join(lines) + "\n"


def snapshot_json(snapshot: Snapshot) -> dict[str, object]:
    data: dict[str, object] = {
        "models": [{"name": m.name, "team": m.team, "gpus": m.gpus, "state": m.state, "flavor": m.flavor, "node": m.node, "reason": m.reason}
                   for m in snapshot.models],
        "quota": [{"queue": q.queue, "flavor": q.flavor, "resource": q.resource, "used": show_amount(q.used, q.resource),
                   "nominal": show_amount(q.nominal, q.resource)} for q in snapshot.quota],
        "notes": snapshot.notes,
    }
    if snapshot.cohorts:  # only where the portfolio declares cohorts: other plans keep their shape
        data["cohorts"] = [{"cohort": c.cohort, "parent": c.parent, "flavor": c.flavor, "resource": c.resource,
                            "used": show_amount(c.used, c.resource), "holds": show_amount(c.holds, c.resource),
                            "own": show_amount(c.quota, c.resource), "subtree": show_amount(c.subtree, c.resource)}
                           for c in snapshot.cohorts]
    return data


def scenarios_text(runs: list[ScenarioRun]) -> str:
    lines = []
    for run in runs:
        lines.append(f"{'PASS' if run.passed else 'FAIL'} {run.scenario.name}: {run.scenario.description}")
        for number, step in enumerate(run.steps, start=1):
            mark = "ok  " if not step.mismatches else "FAIL"
            lines.append(f"  {mark} step {number}: {step.step.title}")
            for name, expected in step.step.expect.items():
                got = step.snapshot.model(name)
                want = expected if isinstance(expected, str) else describe(expected.state, expected.flavor)
                if any(m.model == name for m in step.mismatches):
                    lines.append(f"         {name}: expected {want}, simulated {describe(got.state, got.flavor)}"
                                 + (f" ({got.reason})" if got.reason else ""))
                else:
                    lines.append(f"         {name}: {describe(got.state, got.flavor)}")
            lines += [f"         note: {n}" for n in step.snapshot.notes]
    passed = sum(r.passed for r in runs)
    lines.append(f"{passed} of {len(runs)} scenarios passed")
    return "\n".join(lines) + "\n"


def scenarios_data(runs: list[ScenarioRun]) -> list[dict[str, object]]:
    return [{
        "name": run.scenario.name,
        "passed": run.passed,
        "steps": [{"title": s.step.title, "passed": not s.mismatches,
                   "mismatches": [{"model": m.model, "expected": m.expected, "simulated": m.simulated} for m in s.mismatches],
                   "state": snapshot_json(s.snapshot)} for s in run.steps],
    } for run in runs]

"""Benchmark of the Kueue simulator (run by hand, not collected by pytest):

    .venv/bin/python tests/benchmarks/bench_kueue.py

Two shapes, each at several sizes, best of 5 runs:
- one ClusterQueue: pending workloads of 1, 2, 4 or 8 GPUs over 20 flavors, each with room for a tenth of them,
  so most stay pending and every one is tried;
- a cohort of 20 team ClusterQueues with reclaimWithinCohort Any and demand just under twice the cohort's quota
  (the shape that once evicted without end): every queue borrows, lends and reclaims.
Prints the wall and processor time per size and the ratio of processor times between sizes (near 10 for 10x more
workloads is linear growth).
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generator.admission.kueue import Workload, simulate  # noqa: E402

GPU = "nvidia.com/gpu"
FLAVORS = 20


def scenario(pending: int) -> dict[str, object]:
    flavors = [{"metadata": {"name": f"f{i:02d}"}, "spec": {"nodeLabels": {"pool": f"p{i:02d}"}}} for i in range(FLAVORS)]
    per_flavor = max(1, pending * 3 // (10 * FLAVORS))  # about a tenth of the demand fits
    queue = {"metadata": {"name": "cq"}, "spec": {"resourceGroups": [{
        "coveredResources": [GPU, "cpu"],
        "flavors": [{"name": f["metadata"]["name"], "resources": [
            {"name": GPU, "nominalQuota": per_flavor}, {"name": "cpu", "nominalQuota": per_flavor * 8}]} for f in flavors],
    }]}}
    workloads = [Workload(f"w{i:05d}", "cq", {GPU: Decimal(2 ** (i % 4)), "cpu": Decimal(2 ** (i % 4) * 4)},
                          node_selector={"pool": f"p{i % FLAVORS:02d}"} if i % 5 == 0 else {}, creation=i)
                 for i in range(pending)]
    return {"flavors": flavors, "cluster_queues": [queue], "workloads": workloads}


def cohort(pending: int) -> dict[str, object]:
    teams = 20
    flavor = {"metadata": {"name": "l4"}, "spec": {}}
    nominal = max(1, pending * 3 // (4 * teams))  # 1.5 GPUs asked per workload on average: demand is 2x quota
    queues = [{"metadata": {"name": f"t{i:02d}"}, "spec": {
        "cohort": "gpu-pool", "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        "resourceGroups": [{"coveredResources": [GPU], "flavors": [
            {"name": "l4", "resources": [{"name": GPU, "nominalQuota": nominal}]}]}]}} for i in range(teams)]
    workloads = [Workload(f"w{i:05d}", f"t{i % teams:02d}", {GPU: Decimal(1 + i % 2)}, creation=i) for i in range(pending)]
    return {"flavors": [flavor], "cluster_queues": queues, "workloads": workloads}


def measure(pending: int, shape: object = scenario, repeats: int = 5) -> tuple[float, float, int]:
    """Best wall time and best processor time of several runs (the least disturbed by the rest of the machine;
    processor time varies least on a loaded machine)."""
    wall, cpu, admitted = float("inf"), float("inf"), 0
    for _ in range(repeats):
        given = shape(pending)  # type: ignore[operator]
        started, started_cpu = time.perf_counter(), time.process_time()
        result = simulate(**given)  # type: ignore[arg-type]
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        admitted = len(result.admitted())
    return wall, cpu, admitted


def main() -> None:
    for label, shape in ((f"one queue, {FLAVORS} flavors", scenario), ("20 queues in a cohort, reclaim Any", cohort)):
        previous = None
        for size in (500, 5000):
            seconds, cpu, admitted = measure(size, shape)
            ratio = f", x{cpu / previous:.1f} for x10 workloads" if previous else ""
            print(f"{size:>5} pending workloads, {label}: {seconds:.2f}s ({cpu:.2f}s processor), {admitted} admitted{ratio}")
            previous = cpu


if __name__ == "__main__":
    main()

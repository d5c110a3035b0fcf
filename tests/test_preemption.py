"""Preemption across teams as Kueue decides it (pkg/scheduler/preemption/classical): the hierarchical advantage,
borrowWithinCohort, and a property that every simulation settles without evicting in circles."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from generator.admission import preemption
from generator.admission.kueue import Workload, simulate

GPU = "nvidia.com/gpu"
L4 = {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor", "metadata": {"name": "l4"}, "spec": {}}
PRIORITIES = [{"metadata": {"name": "production"}, "value": 1000}, {"metadata": {"name": "experiments"}, "value": 10}]


def team(name: str, nominal: int, *, reclaim: str = "Any", within: str = "LowerPriority",
         borrow_within: dict[str, Any] | None = None, lending: int | None = None,
         borrowing: int | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"name": GPU, "nominalQuota": nominal}
    if lending is not None:
        resource["lendingLimit"] = lending
    if borrowing is not None:
        resource["borrowingLimit"] = borrowing
    preemption: dict[str, Any] = {"withinClusterQueue": within, "reclaimWithinCohort": reclaim}
    if borrow_within:
        preemption["borrowWithinCohort"] = borrow_within
    return {"metadata": {"name": name}, "spec": {"cohort": "gpu-pool", "preemption": preemption, "resourceGroups": [
        {"coveredResources": [GPU], "flavors": [{"name": "l4", "resources": [resource]}]}]}}


def pod(name: str, cq: str, gpus: int = 1, *, creation: int = 0, at: int | None = None,
        priority_class: str | None = None) -> Workload:
    return Workload(name=name, cluster_queue=cq, requests={GPU: Decimal(gpus)}, creation=creation,
                    admitted_flavors={GPU: "l4"} if at is not None else None, admitted_at=at, priority_class=priority_class)


def state(result: Any, name: str) -> str:
    outcome = result.outcomes[name]
    return outcome.state + (f" by {outcome.preempted_by}" if outcome.preempted_by else "")


def test_a_queue_within_its_nominal_quota_reclaims_what_it_lent() -> None:
    """Team a lent its 2 GPUs to team b; a's production model fits a's own quota: hierarchical advantage."""
    queues = [team("a", 2), team("b", 2)]
    workloads = [pod("b-1", "b", at=1), pod("b-2", "b", at=2), pod("b-3", "b", at=3), pod("b-4", "b", at=4),
                 pod("a-prod", "a", 2, creation=10, priority_class="experiments")]
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads, priority_classes=PRIORITIES)
    assert state(result, "a-prod") == "admitted"
    # the most recently admitted borrowers go first; b keeps its own nominal 2
    assert sorted(v for v, _ in result.preemptions) == ["b-3", "b-4"]
    assert state(result, "b-1") == "admitted" and state(result, "b-2") == "admitted"


def test_a_borrowing_queue_does_not_reclaim_from_another_borrower() -> None:
    """Without borrowWithinCohort, a preemptor that would borrow takes nothing from others."""
    queues = [team("a", 1), team("b", 1), team("c", 2)]
    workloads = [pod("b-1", "b", at=1), pod("b-2", "b", at=2), pod("c-1", "c", at=3),
                 pod("a-big", "a", 2, creation=10, priority_class="production")]
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads, priority_classes=PRIORITIES)
    assert state(result, "a-big") == "pending" and result.preemptions == []


def test_borrow_within_cohort_lets_a_borrower_take_from_lower_priority_borrowers() -> None:
    queues = [team("a", 1, borrow_within={"policy": "LowerPriority"}), team("b", 1), team("c", 2)]
    workloads = [pod("b-1", "b", at=1, priority_class="experiments"), pod("b-2", "b", at=2, priority_class="experiments"),
                 pod("c-1", "c", at=3), pod("a-big", "a", 2, creation=10, priority_class="production")]
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads, priority_classes=PRIORITIES)
    assert state(result, "a-big") == "admitted"
    assert result.preemptions == [("b-2", "a-big")]  # b's borrowed GPU, not b's own nor c's
    # ... but never a borrower above the threshold
    capped = [team("a", 1, borrow_within={"policy": "LowerPriority", "maxPriorityThreshold": 5}), team("b", 1), team("c", 2)]
    again = simulate(flavors=[L4], cluster_queues=capped, workloads=workloads, priority_classes=PRIORITIES)
    assert state(again, "a-big") == "pending"


def test_demand_just_above_capacity_settles() -> None:
    """The case that evicted without end: 20 queues, 100 workloads, reclaimWithinCohort Any, a little too much asked."""
    queues = [team(f"t{i}", 4) for i in range(20)]
    workloads = [pod(f"w{i}", f"t{i % 20}", 1 + (i % 2), creation=i) for i in range(100)]  # 150 GPUs asked of 80
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads)
    admitted = sum(int(w.requests[GPU]) for w in workloads if result.outcomes[w.name].state == "admitted")
    assert 76 <= admitted <= 80
    assert len(result.preemptions) == len(set(result.preemptions))


@st.composite
def cohorts(draw: Any) -> tuple[list[dict[str, Any]], list[Workload]]:
    count = draw(st.integers(min_value=2, max_value=6))
    queues = []
    for i in range(count):
        nominal = draw(st.integers(min_value=0, max_value=4))
        queues.append(team(
            f"t{i}", nominal,
            reclaim=draw(st.sampled_from(["Any", "LowerPriority", "Never"])),
            within=draw(st.sampled_from(["Never", "LowerPriority", "LowerOrNewerEqualPriority"])),
            borrow_within=draw(st.sampled_from([None, {"policy": "LowerPriority"},
                                                {"policy": "LowerPriority", "maxPriorityThreshold": 100}])),
            lending=draw(st.sampled_from([None, 0, 1])), borrowing=draw(st.sampled_from([None, 0, 2]))))
    workloads = []
    for j in range(draw(st.integers(min_value=1, max_value=24))):
        workloads.append(pod(f"w{j}", f"t{draw(st.integers(min_value=0, max_value=count - 1))}",
                             draw(st.integers(min_value=1, max_value=3)), creation=j,
                             priority_class=draw(st.sampled_from([None, "production", "experiments"]))))
    return queues, workloads


def test_a_ring_of_preemptions_is_reported_not_run_forever() -> None:
    """Kueue's rules allow a ring: t0's w9 fits t0's nominal quota, so it reclaims from borrowing t1 whatever the
    priorities (the hierarchical advantage); t0's w12 preempts w9 inside t0 (lower priority); when w9 is gone, w12
    and t1's production w5 both need to borrow, and Kueue orders the higher priority first: w5 is admitted again, w12
    finds nobody to preempt and steps aside, and w9, t0's next head, reclaims from w5 again."""
    queues = [team("t0", 2, reclaim="Any", within="LowerOrNewerEqualPriority", lending=1,
                   borrow_within={"policy": "LowerPriority"}),
              team("t1", 1, reclaim="LowerPriority", within="LowerOrNewerEqualPriority",
                   borrow_within={"policy": "LowerPriority"}),
              team("t2", 3, reclaim="Never", lending=0)]
    workloads = [pod("w17", "t0", 1, creation=0, priority_class="production"), pod("w2", "t2", 3, creation=1),
                 pod("w5", "t1", 2, creation=2, priority_class="production"), pod("w9", "t0", 1, creation=3),
                 pod("w12", "t0", 2, creation=4, priority_class="experiments")]
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads, priority_classes=PRIORITIES)
    assert sorted(result.loop) == [("w5", "w9"), ("w9", "w12")]
    assert state(result, "w17") == "admitted" and state(result, "w2") == "admitted"
    assert state(result, "w12") == "pending"
    for victim, _ in result.loop:
        assert result.outcomes[victim].state == "preempted"
        assert "w9 preempts w5" in result.outcomes[victim].reason


def settled(queues: list[dict[str, Any]], workloads: list[Workload], result: Any) -> list[str]:
    """Workloads left pending although they fit as they are: run again from the final state, preemption off."""
    calm = [{**q, "spec": {**q["spec"], "preemption": {}}} for q in queues]
    again = []
    for w in workloads:
        outcome = result.outcomes[w.name]
        running = outcome.state == "admitted"
        again.append(Workload(name=w.name, cluster_queue=w.cluster_queue, requests=w.requests, creation=w.creation,
                              priority_class=w.priority_class, admitted_flavors=outcome.flavors if running else None,
                              admitted_at=outcome.admitted_at if running else None))
    rerun = simulate(flavors=[L4], cluster_queues=calm, workloads=again, priority_classes=PRIORITIES)
    return sorted(set(rerun.admitted()) - set(result.admitted()))


@settings(max_examples=examples(300), deadline=None)
@given(cohorts())
def test_every_simulation_ends_in_a_steady_state_or_names_the_ring(case: Any) -> None:
    queues, workloads = case
    result = simulate(flavors=[L4], cluster_queues=queues, workloads=workloads, priority_classes=PRIORITIES)
    if result.loop:  # a ring: every preemptor in it is evicted again within it, or lost its room to another
        waiting = {n for n, o in result.outcomes.items() if o.state != "admitted"}
        assert {p for _, p in result.loop} <= {v for v, _ in result.loop} | waiting, result.loop
        return
    assert settled(queues, workloads, result) == []
    for queue in queues:  # and no queue holds more than its nominal quota plus what it may borrow
        resource = queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]
        used = result.usage[queue["metadata"]["name"]].get(("l4", GPU), Decimal(0))
        assert 0 <= used
        if resource.get("borrowingLimit") is not None:
            assert used <= resource["nominalQuota"] + resource["borrowingLimit"]
    total = sum(q["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] for q in queues)
    assert sum(u.get(("l4", GPU), Decimal(0)) for u in result.usage.values()) <= total


@settings(max_examples=examples(300), deadline=None)
@given(cohorts())
def test_the_preemptors_shortcuts_change_no_outcome(case: Any) -> None:
    """Skipping priority levels a policy cannot reach, and other queues a preemptor cannot use, decides exactly as
    gathering every running workload as a candidate does."""
    queues, workloads = case
    fast = simulate(flavors=[L4], cluster_queues=queues, workloads=copy.deepcopy(workloads), priority_classes=PRIORITIES)
    with mock.patch.object(preemption, "_may_reach", lambda *_: True), \
            mock.patch.object(preemption, "_own_can_reach_nominal", lambda *_: True):
        full = simulate(flavors=[L4], cluster_queues=queues, workloads=copy.deepcopy(workloads), priority_classes=PRIORITIES)
    assert fast.preemptions == full.preemptions and fast.loop == full.loop
    assert {n: (o.state, o.flavors, o.reason) for n, o in fast.outcomes.items()} == \
        {n: (o.state, o.flavors, o.reason) for n, o in full.outcomes.items()}

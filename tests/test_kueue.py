"""Table-driven tests of the Kueue simulator, one or more per rule of KUEUE.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from conftest import examples
from generator.admission.kueue import Workload, pod_requests, simulate

GPU = "nvidia.com/gpu"
TAINT = {"key": GPU, "value": "true", "effect": "NoSchedule"}
TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}


def flavor(name: str, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
           tolerations: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor", "metadata": {"name": name},
            "spec": {"nodeLabels": labels or {}, "nodeTaints": taints or [], "tolerations": tolerations or []}}


def queue(name: str, quotas: dict[str, int | dict[str, int]], *, cohort: str | None = None, v1beta2: bool = False,
          strategy: str = "BestEffortFIFO", within: str = "Never", reclaim: str = "Never",
          borrow: str | None = None, preempt: str | None = None) -> dict[str, Any]:
    """quotas: flavor -> GPUs, or flavor -> {nominal, borrowingLimit, lendingLimit}."""
    flavors = []
    for name_, q in quotas.items():
        spec = q if isinstance(q, dict) else {"nominal": q}
        resource: dict[str, Any] = {"name": GPU, "nominalQuota": spec["nominal"]}
        for key in ("borrowingLimit", "lendingLimit"):
            if key in spec:
                resource[key] = spec[key]
        flavors.append({"name": name_, "resources": [resource]})
    body: dict[str, Any] = {"queueingStrategy": strategy, "resourceGroups": [{"coveredResources": [GPU], "flavors": flavors}],
                            "preemption": {"withinClusterQueue": within, "reclaimWithinCohort": reclaim}}
    if cohort:
        body["cohortName" if v1beta2 else "cohort"] = cohort
    fungibility = {k: v for k, v in (("whenCanBorrow", borrow), ("whenCanPreempt", preempt)) if v}
    if fungibility:
        body["flavorFungibility"] = fungibility
    return {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": name}, "spec": body}


def pod(name: str, gpus: int, *, cq: str = "cq", creation: int = 0, **kwargs: Any) -> Workload:
    return Workload(name=name, cluster_queue=cq, requests={GPU: Decimal(gpus)}, creation=creation,
                    tolerations=kwargs.pop("tolerations", [TOLERATION]), **kwargs)


def running(name: str, gpus: int, on: str, *, cq: str = "cq", at: int = 1, **kwargs: Any) -> Workload:
    return pod(name, gpus, cq=cq, admitted_flavors={GPU: on}, admitted_at=at, **kwargs)


def states(result) -> dict[str, str]:
    return {n: o.state + (f"@{o.flavors[GPU]}" if o.state == "admitted" else "") for n, o in result.outcomes.items()}


TWO = [flavor("small", {"type": "s"}, [TAINT], [TOLERATION]), flavor("big", {"type": "b"}, [TAINT], [TOLERATION])]

CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    # --- rule 3: taints
    ("untolerated taint rejects the flavor",
     {"flavors": [flavor("tainted", taints=[TAINT]), flavor("plain")], "queues": [queue("cq", {"tainted": 4, "plain": 4})],
      "workloads": [pod("a", 1, tolerations=[])]},
     {"a": "admitted@plain"}),
    ("flavor's own toleration covers its taint",
     {"flavors": [flavor("tainted", taints=[TAINT], tolerations=[TOLERATION])], "queues": [queue("cq", {"tainted": 4})],
      "workloads": [pod("a", 1, tolerations=[])]},
     {"a": "admitted@tainted"}),
    ("PreferNoSchedule taints are ignored",
     {"flavors": [flavor("soft", taints=[{**TAINT, "effect": "PreferNoSchedule"}])], "queues": [queue("cq", {"soft": 4})],
      "workloads": [pod("a", 1, tolerations=[])]},
     {"a": "admitted@soft"}),
    # --- rule 3: selectors
    ("nodeSelector excludes a flavor whose label contradicts it",
     {"flavors": TWO, "queues": [queue("cq", {"small": 4, "big": 4})], "workloads": [pod("a", 1, node_selector={"type": "b"})]},
     {"a": "admitted@big"}),
    ("selector keys the flavor does not label are ignored (current rule)",
     {"flavors": [flavor("small", {"type": "s"}), flavor("bare")], "queues": [queue("cq", {"small": 0, "bare": 4})],
      "workloads": [pod("a", 1, node_selector={"type": "b"})]},
     {"a": "admitted@bare"}),
    ("the older union-of-keys rule rejects an unlabelled flavor",
     {"flavors": [flavor("small", {"type": "s"}), flavor("bare")], "queues": [queue("cq", {"small": 0, "bare": 4})],
      "workloads": [pod("a", 1, node_selector={"type": "b"})], "selector_rule": "union"},
     {"a": "pending"}),
    ("required node affinity is matched against flavor labels",
     {"flavors": TWO, "queues": [queue("cq", {"small": 4, "big": 4})],
      "workloads": [pod("a", 1, node_affinity=[[{"key": "type", "operator": "NotIn", "values": ["s"]}]])]},
     {"a": "admitted@big"}),
    # --- rule 3/5: flavor order
    ("flavors are tried in list order",
     {"flavors": TWO, "queues": [queue("cq", {"small": 4, "big": 4})], "workloads": [pod("a", 1)]},
     {"a": "admitted@small"}),
    ("a full first flavor sends the pod to the next",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 4})], "workloads": [running("x", 1, "small"), pod("a", 1)]},
     {"x": "admitted@small", "a": "admitted@big"}),
    # --- rule 1/4: fit
    ("a request larger than any flavor's quota never fits",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 4})], "workloads": [pod("a", 8)]},
     {"a": "pending"}),
    ("a resource no group covers can never be admitted",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1})],
      "workloads": [Workload("a", "cq", {GPU: Decimal(1), "example.com/fpga": Decimal(1)}, tolerations=[TOLERATION])]},
     {"a": "pending"}),
    # --- rule 5: fungibility, both spellings, both ways
    ("whenCanBorrow Borrow (v1beta1) stops at a flavor that fits by borrowing",
     {"flavors": TWO, "queues": [queue("cq", {"small": 0, "big": 4}, cohort="co", borrow="Borrow"),
                                 queue("lender", {"small": 4}, cohort="co")], "workloads": [pod("a", 2)]},
     {"a": "admitted@small"}),
    ("whenCanBorrow MayStopSearch (v1beta2) behaves the same",
     {"flavors": TWO, "queues": [queue("cq", {"small": 0, "big": 4}, cohort="co", v1beta2=True, borrow="MayStopSearch"),
                                 queue("lender", {"small": 4}, cohort="co", v1beta2=True)], "workloads": [pod("a", 2)]},
     {"a": "admitted@small"}),
    ("whenCanBorrow TryNextFlavor prefers a flavor that fits without borrowing",
     {"flavors": TWO, "queues": [queue("cq", {"small": 0, "big": 4}, cohort="co", borrow="TryNextFlavor"),
                                 queue("lender", {"small": 4}, cohort="co")], "workloads": [pod("a", 2)]},
     {"a": "admitted@big"}),
    ("whenCanPreempt TryNextFlavor takes a later flavor that fits over preempting",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 4}, within="LowerPriority")],
      "workloads": [running("low", 1, "small", priority=0), pod("high", 1, priority=10)]},
     {"low": "admitted@small", "high": "admitted@big"}),
    ("whenCanPreempt Preempt stops at the first flavor where preemption works",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 4}, within="LowerPriority", preempt="Preempt")],
      "workloads": [running("low", 1, "small", priority=0), pod("high", 1, priority=10)]},
     {"low": "admitted@big", "high": "admitted@small"}),  # the evicted pod's replacement moves to big
    # --- rule 6: queueing strategies
    ("BestEffortFIFO sets a head that does not fit aside and admits the next",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 1})],
      "workloads": [pod("big-first", 4, creation=1), pod("small-next", 1, creation=2)]},
     {"big-first": "pending", "small-next": "admitted@small"}),
    ("StrictFIFO blocks everything behind a head that does not fit",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1, "big": 1}, strategy="StrictFIFO")],
      "workloads": [pod("big-first", 2, creation=1), pod("small-next", 1, creation=2)]},
     {"big-first": "pending", "small-next": "pending"}),
    ("higher priority is admitted before an older workload",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1})],
      "workloads": [pod("old", 1, creation=1), pod("urgent", 1, creation=2, priority=5)]},
     {"old": "pending", "urgent": "admitted@small"}),
    ("equal priority goes by creation time",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1})], "workloads": [pod("second", 1, creation=2), pod("first", 1, creation=1)]},
     {"first": "admitted@small", "second": "pending"}),
    # --- rule 7: preemption within the ClusterQueue
    ("Never: no preemption even for higher priority",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1})], "workloads": [running("low", 1, "small"), pod("high", 1, priority=9)]},
     {"low": "admitted@small", "high": "pending"}),
    ("LowerPriority preempts the minimal victim set",
     {"flavors": TWO, "queues": [queue("cq", {"small": 4}, within="LowerPriority")],
      "workloads": [running("v1", 1, "small", at=1), running("v2", 1, "small", at=2), running("v3", 2, "small", at=3),
                    pod("high", 2, priority=10)]},
     {"v1": "admitted@small", "v2": "admitted@small", "v3": "preempted", "high": "admitted@small"}),
    ("LowerPriority does not preempt an equal priority",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1}, within="LowerPriority")],
      "workloads": [running("same", 1, "small", creation=1), pod("newer", 1, creation=5)]},
     {"same": "admitted@small", "newer": "pending"}),
    ("LowerOrNewerEqualPriority preempts an equal-priority newer workload",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1}, within="LowerOrNewerEqualPriority")],
      "workloads": [running("newer", 1, "small", creation=5), pod("older", 1, creation=1)]},
     {"newer": "preempted", "older": "admitted@small"}),
    ("nothing is preempted when the preemptor could never fit",
     {"flavors": TWO, "queues": [queue("cq", {"small": 2}, within="LowerPriority")],
      "workloads": [running("low", 1, "small"), pod("huge", 3, priority=10)]},
     {"low": "admitted@small", "huge": "pending"}),
    # --- rule 4/7: cohorts
    ("a ClusterQueue borrows unused quota from its cohort",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1}, cohort="co"), queue("other", {"small": 3}, cohort="co")],
      "workloads": [pod("a", 3)]},
     {"a": "admitted@small"}),
    ("borrowingLimit 0 forbids borrowing",
     {"flavors": TWO, "queues": [queue("cq", {"small": {"nominal": 1, "borrowingLimit": 0}}, cohort="co"),
                                 queue("other", {"small": 3}, cohort="co")], "workloads": [pod("a", 2)]},
     {"a": "pending"}),
    ("lendingLimit keeps part of the lender's quota",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1}, cohort="co"),
                                 queue("other", {"small": {"nominal": 3, "lendingLimit": 1}}, cohort="co")],
      "workloads": [pod("fits", 2, creation=1), pod("too-much", 1, creation=2)]},
     {"fits": "admitted@small", "too-much": "pending"}),
    ("reclaimWithinCohort Any takes lent quota back from a borrower",
     {"flavors": TWO, "queues": [queue("owner", {"small": 2}, cohort="co", reclaim="Any"), queue("borrower", {"small": 0}, cohort="co")],
      "workloads": [running("guest", 2, "small", cq="borrower", priority=100), pod("mine", 2, cq="owner")]},
     {"guest": "preempted", "mine": "admitted@small"}),
    ("reclaimWithinCohort Never leaves the borrower alone",
     {"flavors": TWO, "queues": [queue("owner", {"small": 2}, cohort="co"), queue("borrower", {"small": 0}, cohort="co")],
      "workloads": [running("guest", 2, "small", cq="borrower"), pod("mine", 2, cq="owner")]},
     {"guest": "admitted@small", "mine": "pending"}),
    # --- rule 8: WorkloadPriorityClass over pod priority
    ("a WorkloadPriorityClass outranks the pod's own priority",
     {"flavors": TWO, "queues": [queue("cq", {"small": 1})],
      "workloads": [pod("pod-prio", 1, creation=1, priority=50), pod("wpc", 1, creation=2, priority_class="high")],
      "priority_classes": [{"kind": "WorkloadPriorityClass", "metadata": {"name": "high"}, "value": 1000}]},
     {"pod-prio": "pending", "wpc": "admitted@small"}),
]


@pytest.mark.parametrize(("case", "given", "expected"), CASES, ids=[c[0] for c in CASES])
def test_simulator(case: str, given: dict[str, Any], expected: dict[str, str]) -> None:
    result = simulate(flavors=given["flavors"], cluster_queues=given["queues"], workloads=given["workloads"],
                      priority_classes=given.get("priority_classes", ()), selector_rule=given.get("selector_rule", "current"))
    assert states(result) == expected


def test_pending_reason_names_resource_flavor_and_amounts() -> None:
    result = simulate(flavors=TWO, cluster_queues=[queue("cq", {"small": 1})],
                      workloads=[running("x", 1, "small"), pod("a", 1)])
    assert result.outcomes["a"].reason.startswith(f"{GPU} in small: 1 used of 1, needs 1")


def test_strict_fifo_reason_names_the_blocking_head() -> None:
    result = simulate(flavors=TWO, cluster_queues=[queue("cq", {"small": 1, "big": 1}, strategy="StrictFIFO")],
                      workloads=[pod("head", 2, creation=1), pod("behind", 1, creation=2)])
    assert result.outcomes["behind"].reason.startswith("waiting behind head (StrictFIFO)")


def test_preempted_outcome_names_the_preemptor_and_release_readmits_in_order() -> None:
    given = dict(flavors=TWO, cluster_queues=[queue("cq", {"small": 1}, within="LowerPriority")])
    first = simulate(**given, workloads=[running("low", 1, "small"), pod("high", 1, priority=10)])
    assert first.outcomes["low"].preempted_by == "high"
    # Rule 9: deleting the preemptor releases its quota; the evicted workload is admitted again.
    again = simulate(**given, workloads=[pod("low", 1, creation=3)])
    assert states(again) == {"low": "admitted@small"}


def test_the_callers_workloads_are_not_modified() -> None:
    w = pod("a", 1)
    simulate(flavors=TWO, cluster_queues=[queue("cq", {"small": 1})], workloads=[w])
    assert w.admitted_flavors is None and w.admitted_at is None


def test_pod_requests_follow_rule_1() -> None:
    spec = {
        "containers": [{"resources": {"requests": {"cpu": "1"}, "limits": {GPU: "2"}}},
                       {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
        "initContainers": [{"resources": {"requests": {"cpu": "4"}}},
                           {"restartPolicy": "Always", "resources": {"requests": {"memory": "1Gi"}}}],
        "overhead": {"cpu": "100m"},
    }
    requests = pod_requests(spec)
    # cpu: max(1 + 0.5 containers, 4 init) + 0.1 overhead; gpu: a limit without request counts;
    # memory: 1Gi containers + 1Gi sidecar.
    assert requests == {"cpu": Decimal("4.1"), GPU: Decimal(2), "memory": Decimal(2 * 2**30)}


# --- invariants on random inputs (hypothesis)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Tainted flavors that do not tolerate their own taint: a pod must bring the toleration.
TAINTED = [flavor("small", {"type": "s"}, [TAINT]), flavor("big", {"type": "b"}, [TAINT])]
_pods = st.lists(st.tuples(st.sampled_from([1, 2, 4]), st.integers(0, 2), st.sampled_from(["", "s", "b"]),
                           st.booleans()), max_size=12)


@settings(max_examples=examples(150), deadline=None)
@given(_pods, st.integers(0, 6), st.integers(0, 6), st.sampled_from(["Never", "LowerPriority", "LowerOrNewerEqualPriority"]),
       st.sampled_from(["BestEffortFIFO", "StrictFIFO"]))
def test_admission_never_exceeds_quota_and_respects_flavor_constraints(pods, small, big, within, strategy) -> None:
    workloads = []
    for index, (gpus, priority, selector, tolerates) in enumerate(pods):
        w = pod(f"p{index}", gpus, creation=index, priority=priority,
                node_selector={"type": selector} if selector else {}, tolerations=[TOLERATION] if tolerates else [])
        workloads.append(w)
    result = simulate(flavors=TAINTED, cluster_queues=[queue("cq", {"small": small, "big": big}, within=within, strategy=strategy)],
                      workloads=workloads)
    again = simulate(flavors=TAINTED, cluster_queues=[queue("cq", {"small": small, "big": big}, within=within, strategy=strategy)],
                     workloads=workloads)
    assert states(result) == states(again)  # deterministic
    used = {"small": 0, "big": 0}
    by_name = {w.name: w for w in workloads}
    for name, outcome in result.outcomes.items():
        if outcome.state != "admitted":
            assert outcome.reason
            continue
        flavor = outcome.flavors[GPU]
        used[flavor] += int(by_name[name].requests[GPU])
        assert by_name[name].tolerations, "an untolerated taint was admitted"
        selector = by_name[name].node_selector.get("type")
        assert selector in (None, {"small": "s", "big": "b"}[flavor])
    assert used["small"] <= small and used["big"] <= big
    if within == "Never" and strategy == "BestEffortFIFO":
        # Without preemption, a pending pod never fits in what is left of an allowed flavor.
        for name, outcome in result.outcomes.items():
            w = by_name[name]
            if outcome.state == "pending" and w.tolerations:
                for flavor, nominal in (("small", small), ("big", big)):
                    allowed = w.node_selector.get("type") in (None, {"small": "s", "big": "b"}[flavor])
                    assert not (allowed and used[flavor] + int(w.requests[GPU]) <= nominal), (name, flavor)


def test_duplicate_workload_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"workload names must be unique: \['a'\]"):
        simulate(flavors=TWO, cluster_queues=[queue("cq", {"small": 1})], workloads=[pod("a", 1), pod("a", 1)])


# --- the rules of issue 16, end to end


def test_an_evicted_workload_keeps_its_queue_order_unless_a_new_pod_replaces_it() -> None:
    """Kueue's queue-order timestamp is the Workload's creation: a preempted Job's Workload keeps its place; a
    preempted plain pod is deleted and the pod its ReplicaSet creates queues as the newest."""
    queues = [queue("cq", {"small": 1}, within="LowerPriority")]
    for replaced, order in ((False, 1), (True, 4)):
        victim = running("victim", 1, "small", creation=1)
        victim.replaced_on_eviction = replaced
        result = simulate(flavors=TWO, cluster_queues=queues, workloads=[victim, pod("high", 1, priority=9, creation=3)])
        assert result.outcomes["victim"].state == "preempted"
        assert result.outcomes["victim"].queued_at == order


def test_preference_chooses_between_borrowing_and_preempting() -> None:
    """flavorFungibility.preference: with both policies TryNextFlavor, `small` needs a preemption inside the queue
    and `big` fits by borrowing; by default the better mode wins (a fit), with BorrowingOverPreemption the shorter
    borrowing does (preempt on `small`, whose quota is the queue's own)."""
    def queues(preference: str | None) -> list[dict[str, Any]]:
        cq = queue("cq", {"small": 1, "big": 0}, cohort="co", within="LowerPriority", borrow="TryNextFlavor",
                   preempt="TryNextFlavor")
        if preference:
            cq["spec"]["flavorFungibility"]["preference"] = preference
        return [cq, queue("lender", {"big": 4}, cohort="co")]

    workloads = [running("low", 1, "small", priority=0), pod("high", 1, priority=10)]
    default = simulate(flavors=TWO, cluster_queues=queues(None), workloads=workloads)
    assert states(default) == {"low": "admitted@small", "high": "admitted@big"}
    borrowing_last = simulate(flavors=TWO, cluster_queues=queues("BorrowingOverPreemption"), workloads=workloads)
    assert states(borrowing_last)["high"] == "admitted@small"
    assert borrowing_last.preemptions == [("low", "high")]  # and low, replaced, borrows on big
    assert states(borrowing_last)["low"] == "admitted@big"
    assert states(simulate(flavors=TWO, cluster_queues=queues("PreemptionOverBorrowing"), workloads=workloads)) == \
        states(default)


def test_a_queue_that_would_borrow_preempts_nobody_of_its_own() -> None:
    """Kueue considers preemption only for a request within the queue's nominal quota (or reclaimable below the root,
    or with borrowWithinCohort): a high-priority pod that would have to borrow does not evict a lower-priority pod of
    its own queue (TestSchedule "A workload is only eligible to do preemptions if it fits fully within nominal
    quota")."""
    queues = [queue("cq", {"small": 2}, cohort="co", within="LowerPriority", reclaim="Any"),
              queue("other", {"small": 2}, cohort="co")]
    workloads = [running("low", 1, "small", priority=0), running("theirs", 1, "small", cq="other"),
                 pod("high", 3, priority=10)]
    result = simulate(flavors=TWO, cluster_queues=queues, workloads=workloads)
    assert states(result) == {"low": "admitted@small", "theirs": "admitted@small", "high": "pending"}
    assert result.preemptions == []

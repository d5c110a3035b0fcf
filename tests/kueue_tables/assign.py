"""pkg/scheduler/flavorassigner/flavorassigner_test.go at kubernetes-sigs/kueue v0.16.1: TestAssignFlavors,
TestReclaimBeforePriorityPreemption, TestHierarchical, TestDeletedFlavors and TestIsPreferred. Like Kueue's tables,
these stub the preemption oracle (Preempt with borrowing 0 unless the table says otherwise)."""

from __future__ import annotations

from typing import Any

from kueue_tables import Assign, NotModelled, Preferred, cohort, cq, flavor, fq, held, wl

TCQ, SCQ = "test-clusterqueue", "test-secondary-clusterqueue"
SPOT = {"key": "instance", "value": "spot", "effect": "NoSchedule"}
FLAVORS = [flavor("default"), flavor("one", {"type": "one"}), flavor("two", {"type": "two"}),
           flavor("b_one", {"b_type": "one"}), flavor("b_two", {"b_type": "two"}), flavor("tainted", taints=[SPOT]),
           flavor("taint_and_toleration", taints=[SPOT], tolerations=[{**SPOT, "operator": "Equal"}])]
MAY_STOP = {"when_borrow": "MayStopSearch", "when_preempt": "MayStopSearch"}
TRY_NEXT = {"when_borrow": "TryNextFlavor", "when_preempt": "TryNextFlavor"}
BORROW_WITHIN = {"reclaim": "LowerPriority", "borrow_within": "LowerPriority"}


def ta(name: str, queue: dict[str, Any], incoming: Any, mode: str, flavors_want: dict[str, str] | None = None, *,
       usage: dict[tuple[str, str], str | int] | None = None, secondary: dict[str, Any] | None = None,
       secondary_usage: dict[tuple[str, str], str | int] | None = None, **kw: Any) -> Assign:
    queues = [queue] + ([secondary] if secondary else [])
    running = held(TCQ, usage or {}) + held(SCQ, secondary_usage or {})
    return Assign("TestAssignFlavors", name, queues, incoming, mode, flavors_want or {}, running=running,
                  flavors=FLAVORS, **kw)


def tcq(*groups: list[Any], **kw: Any) -> dict[str, Any]:
    return cq(TCQ, *groups, **kw)


def scq(*groups: list[Any]) -> dict[str, Any]:
    return cq(SCQ, *groups, cohort="test-cohort")


def incoming(**kw: Any) -> Any:
    return wl("incoming", TCQ, **kw)


def podsets(name: str) -> NotModelled:
    return NotModelled("TestAssignFlavors", name, "podsets")


ASSIGN_FLAVORS: list[Any] = [
    ta("single flavor, fits", tcq([fq("default", cpu="1", memory="2Mi")]), incoming(cpu="1", memory="1Mi"), "Fit",
       {"cpu": "default", "memory": "default"}, tried={"cpu": -1, "memory": -1}),
    ta("single flavor, fits tainted flavor", tcq([fq("tainted", cpu="4")]),
       incoming(cpu="1", tolerations=[{**SPOT, "operator": "Equal"}]), "Fit", {"cpu": "tainted"}),
    ta("single flavor, fits tainted flavor with toleration", tcq([fq("taint_and_toleration", cpu="4")]),
       incoming(cpu="1"), "Fit", {"cpu": "taint_and_toleration"}),
    ta("single flavor, used resources, doesn't fit", tcq([fq("default", cpu="4")]), incoming(cpu="2"), "Preempt",
       {"cpu": "default"}, usage={("default", "cpu"): "3"}, preempting=("cpu",)),
    ta("multiple resource groups, fits",
       tcq([fq("one", cpu="2"), fq("two", cpu="4")], [fq("b_one", memory="1Gi"), fq("b_two", memory="5Gi")]),
       incoming(cpu="3", memory="10Mi"), "Fit", {"cpu": "two", "memory": "b_one"}, tried={"cpu": -1, "memory": 0}),
    podsets("multiple flavors, leader worker set, leader and workers request the same resources fits"),
    podsets("multiple flavors, leader worker set, workers request GPU, leader does not request GPU, fits"),
    podsets("multiple flavors, leader worker set, workers request GPU, leader does not request GPU, does not fit, "
            "without group it would fit"),
    ta("multiple resource groups, one could fit with preemption, other doesn't fit",
       tcq([fq("one", cpu="3")], [fq("b_one", memory="1Mi")]), incoming(cpu="3", memory="10Mi"), "NoFit",
       usage={("one", "cpu"): "1"}),
    ta("multiple resource groups with multiple resources, fits",
       tcq([fq("one", cpu="2", memory="1Gi"), fq("two", cpu="4", memory="15Mi")],
           [fq("b_one", gpu="4"), fq("b_two", gpu="2")]),
       incoming(cpu="3", memory="10Mi", gpu="3"), "Fit", {"cpu": "two", "memory": "two", "example.com/gpu": "b_one"},
       tried={"example.com/gpu": 0}),
    ta("multiple resource groups with multiple resources, fits with different modes",
       tcq([fq("one", cpu="2", memory="1Gi"), fq("two", cpu="4", memory="15Mi")], [fq("b_one", gpu="4")],
           cohort="test-cohort"),
       incoming(cpu="3", memory="10Mi", gpu="3"), "Preempt", {"cpu": "two", "memory": "two", "example.com/gpu": "b_one"},
       usage={("two", "memory"): "10Mi"}, secondary=scq([fq("b_one", gpu="0")]),
       secondary_usage={("b_one", "example.com/gpu"): "2"}, oracle={("two", "memory"): ("Preempt", 1)}, borrowing=1,
       preempting=("memory", "example.com/gpu")),
    ta("multiple resources in a group, doesn't fit",
       tcq([fq("one", cpu="2", memory="1Gi"), fq("two", cpu="4", memory="5Mi")]), incoming(cpu="3", memory="10Mi"),
       "NoFit"),
    ta("multiple flavors, fits while skipping tainted flavor", tcq([fq("tainted", cpu="4"), fq("two", cpu="4")]),
       incoming(cpu="3"), "Fit", {"cpu": "two"}),
    ta("multiple flavors, fits a node selector", tcq([fq("one", cpu="4"), fq("two", cpu="4")]),
       incoming(cpu="1", selector={"type": "two", "ignored1": "foo"},
                affinity=[[{"key": "ignored2", "operator": "In", "values": ["bar"]}]]),
       "Fit", {"cpu": "two"}),
    ta("multiple flavors, fits with node affinity",
       tcq([fq("one", cpu="4", memory="1Gi"), fq("two", cpu="4", memory="1Gi")]),
       incoming(cpu="1", memory="1Mi", selector={"ignored1": "foo"},
                affinity=[[{"key": "type", "operator": "In", "values": ["two"]}]]),
       "Fit", {"cpu": "two", "memory": "two"}),
    ta("multiple flavors, node affinity fits any flavor", tcq([fq("one", cpu="4"), fq("two", cpu="4")]),
       incoming(cpu="1", affinity=[[{"key": "ignored2", "operator": "In", "values": ["bar"]}],
                                   [{"key": "cpuType", "operator": "In", "values": ["two"]}]]),
       "Fit", {"cpu": "one"}, tried={"cpu": 0}),
    ta("multiple flavors, doesn't fit node affinity", tcq([fq("one", cpu="4"), fq("two", cpu="4")]),
       incoming(cpu="1", affinity=[[{"key": "type", "operator": "In", "values": ["three"]}]]), "NoFit"),
    podsets("multiple specs, fit different flavors"),
    podsets("multiple specs, fits borrowing"),
    ta("not enough space to borrow", tcq([fq("one", cpu="1")], cohort="test-cohort"), incoming(cpu="2"), "NoFit",
       secondary=scq([fq("one", cpu=("10", "", "0"))]), secondary_usage={("one", "cpu"): "9"}),
    ta("past max, but can preempt in ClusterQueue", tcq([fq("one", cpu=("2", "8"))], cohort="test-cohort"),
       incoming(cpu="2"), "Preempt", {"cpu": "one"}, usage={("one", "cpu"): "9"}, secondary=scq([fq("one", cpu="98")]),
       secondary_usage={("one", "cpu"): "9"}, oracle={("one", "cpu"): ("Preempt", 1)}, borrowing=1),
    ta("past min, but can preempt in ClusterQueue", tcq([fq("one", cpu="2")]), incoming(cpu="2"), "Preempt",
       {"cpu": "one"}, usage={("one", "cpu"): "1"}),
    ta("past min, but can preempt in cohort and ClusterQueue", tcq([fq("one", cpu="3")], cohort="test-cohort"),
       incoming(cpu="2"), "Preempt", {"cpu": "one"}, usage={("one", "cpu"): "2"}, secondary=scq([fq("one", cpu="7")]),
       secondary_usage={("one", "cpu"): "8"}, oracle={("one", "cpu"): ("Preempt", 1)}, borrowing=1),
    ta("can only preempt flavors that match affinity", tcq([fq("one", cpu="4"), fq("two", cpu="4")]),
       incoming(cpu="2", selector={"type": "two"}), "Preempt", {"cpu": "two"},
       usage={("one", "cpu"): "3", ("two", "cpu"): "3"}),
    podsets("each podset requires preemption on a different flavor"),
    ta("resource not listed in clusterQueue", tcq([fq("one", cpu="4")]), incoming(gpu="2"), "NoFit"),
    ta("zero resource request not in clusterQueue should succeed", tcq([fq("default", cpu="4")]),
       incoming(cpu="1", gpu="0"), "Fit", {"cpu": "default"}),
    ta("zero resource request defined in clusterQueue should get flavor assigned",
       tcq([fq("default", cpu="4", gpu="4")]), incoming(cpu="1", gpu="0"), "Fit",
       {"cpu": "default", "example.com/gpu": "default"}),
    # A pod set of 3 pods: its totals, 3 cpu and 3 pods.
    ta("num pods fit", tcq([fq("default", pods="3", cpu="10")]), incoming(cpu="3", pods="3"), "Fit",
       {"cpu": "default", "pods": "default"}),
    ta("num pods don't fit", tcq([fq("default", pods="2", cpu="10")]), incoming(cpu="3", pods="3"), "NoFit"),
    NotModelled("TestAssignFlavors", "with reclaimable pods; reclaimablePods on", "reclaimable"),
    NotModelled("TestAssignFlavors", "with reclaimable pods; reclaimablePods off", "reclaimable"),
    ta("preempt before try next flavor",
       tcq([fq("one", pods="10", cpu="10"), fq("two", pods="10", cpu="10")], **MAY_STOP), incoming(cpu="9"),
       "Preempt", {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"}, preempting=("cpu",),
       tried={"cpu": 0, "pods": 0}),
    ta("preempt before try next flavor; using WhenCanBorrow=MayStopSearch,WhenCanPreempt=MayStopSearch",
       tcq([fq("one", pods="10", cpu="10"), fq("two", pods="10", cpu="10")], **MAY_STOP), incoming(cpu="9"),
       "Preempt", {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"}, preempting=("cpu",),
       tried={"cpu": 0, "pods": 0}),
    ta("preempt try next flavor", tcq([fq("one", pods="10", cpu="10"), fq("two", pods="10", cpu="10")]),
       incoming(cpu="9"), "Fit", {"cpu": "two", "pods": "two"}, usage={("one", "cpu"): "2"}),
    ta("borrow try next flavor, found the first flavor",
       tcq([fq("one", pods="10", cpu=("10", "1")), fq("two", pods="10", cpu="1")], cohort="test-cohort", **TRY_NEXT),
       incoming(cpu="9"), "Fit", {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"},
       secondary=scq([fq("one", cpu="1")]), borrowing=1),
    ta("borrow try next flavor, found the second flavor",
       tcq([fq("one", pods="10", cpu=("10", "1")), fq("two", pods="10", cpu="10")], cohort="test-cohort", **TRY_NEXT),
       incoming(cpu="9"), "Fit", {"cpu": "two", "pods": "two"}, usage={("one", "cpu"): "2"},
       secondary=scq([fq("one", cpu="1")])),
    ta("borrow before try next flavor",
       tcq([fq("one", pods="10", cpu=("10", "1")), fq("two", pods="10", cpu="10")], cohort="test-cohort"),
       incoming(cpu="9"), "Fit", {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"},
       secondary=scq([fq("one", cpu="1")]), borrowing=1, tried={"cpu": 0, "pods": 0}),
    *(ta(f"when borrowing while preemption is needed for flavor one{limit}; {spelling}",
         tcq([fq("one", cpu=("0", "12") if not limit else "0"), fq("two", cpu="12")], cohort="test-cohort",
             **BORROW_WITHIN, **MAY_STOP),
         incoming(cpu="12"), "Preempt", {"cpu": "one"}, secondary=scq([fq("one", cpu="12")]),
         secondary_usage={("one", "cpu"): "10"}, oracle={("one", "cpu"): ("Preempt", 1)}, borrowing=1,
         tried={"cpu": 0})
      for limit in ("", ", no borrowingLimit")
      for spelling in ("WhenCanBorrow=MayStopSearch", "WhenCanBorrow=MayStopSearch,WhenCanPreempt=MayStopSearch")),
    *(ta(f"when borrowing while preemption is needed for flavor one; {spelling}",
         tcq([fq("one", cpu=("0", "12")), fq("two", cpu="12")], cohort="test-cohort", **BORROW_WITHIN,
             when_borrow="TryNextFlavor", when_preempt="MayStopSearch"),
         incoming(cpu="12"), "Fit", {"cpu": "two"}, secondary=scq([fq("one", cpu="12")]))
      for spelling in ("WhenCanBorrow=TryNextFlavor", "WhenCanBorrow=TryNextFlavor,WhenCanPreempt=MayStopSearch")),
    ta("when borrowing while preemption is needed, but borrowingLimit exceeds the quota available in the cohort",
       tcq([fq("one", cpu=("0", "12"))], cohort="test-cohort", **BORROW_WITHIN), incoming(cpu="12"), "NoFit",
       secondary=scq([fq("one", cpu="11")]), secondary_usage={("one", "cpu"): "10"}),
    ta("lend try next flavor, found the second flavor",
       tcq([fq("one", pods="10", cpu=("10", "", "1")), fq("two", pods="10", cpu=("10", "", "0"))], cohort="test-cohort",
           **TRY_NEXT),
       incoming(cpu="9"), "Fit", {"cpu": "two", "pods": "two"}, usage={("one", "cpu"): "2"},
       secondary=scq([fq("one", cpu="1")])),
    ta("lend try next flavor, found the first flavor",
       tcq([fq("one", pods="10", cpu=("10", "", "1")), fq("two", pods="10", cpu=("1", "", "0"))], cohort="test-cohort",
           **TRY_NEXT),
       incoming(cpu="9"), "Fit", {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"},
       secondary=scq([fq("one", cpu="1")]), borrowing=1),
    *(ta("cannot preempt in cohort (oracle returns None) for the first flavor, tries the second flavor (which fits)"
         + suffix,
         tcq([fq("one", cpu=("0", "2")), fq("two", cpu=("0", "2"))], cohort="test-cohort", **BORROW_WITHIN, **MAY_STOP),
         incoming(cpu="2"), "Fit", {"cpu": "two"}, secondary=scq([fq("one", cpu="2"), fq("two", cpu="2")]),
         secondary_usage={("one", "cpu"): "2"}, oracle={("one", "cpu"): ("NoCandidates", 0)}, borrowing=1)
      for suffix in ("", "; using deprecated WhenCanBorrow=MayStopSearch,WhenCanPreempt=MayStopSearch")),
    ta("quota exhausted, but can preempt in cohort and ClusterQueue",
       tcq([fq("one", pods="10", cpu=("10", "", "0"))], cohort="test-cohort"), incoming(cpu="9"), "Preempt",
       {"cpu": "one", "pods": "one"}, usage={("one", "cpu"): "2"}, secondary=scq([fq("one", pods="0", cpu="0")]),
       oracle={("one", "cpu"): ("Preempt", 1)}, borrowing=1, preempting=("cpu",)),
    *(ta(f"when borrowing while preemption is needed for flavor one, fair sharing enabled, reclaimWithinCohort={policy}"
         + suffix,
         tcq([fq("one", cpu="0"), fq("two", cpu="12")], cohort="test-cohort", reclaim=policy, **MAY_STOP),
         incoming(cpu="12"), mode, {"cpu": flavor_name}, secondary=scq([fq("one", cpu="12")]),
         secondary_usage={("one", "cpu"): "10"}, oracle={("one", "cpu"): oracle}, borrowing=borrowing, fair=True)
      for policy, mode, flavor_name, oracle, borrowing in (("Any", "Preempt", "one", ("Preempt", 1), 1),
                                                          ("Never", "Fit", "two", ("NoCandidates", 0), 0))
      for suffix in ("", "; using deprecated WhenCanBorrow=MayStopSearch,WhenCanPreempt=MayStopSearch")),
    NotModelled("TestAssignFlavors", "workload slice preemption fits in the original workload resource flavor", "slices"),
    NotModelled("TestAssignFlavors", "workload slice preemption does not fit in the original workload resource flavor",
                "slices"),
]

# TestReclaimBeforePriorityPreemption: three flavors of 10 compute and 10 gpu each, lent to the cohort.
UNO_DUE_TRE = ["uno", "due", "tre"]


def reclaim_case(name: str, requests: dict[str, str], test_usage: dict[tuple[str, str], str | int],
                 other_usage: dict[tuple[str, str], str | int], mode: str, want: dict[str, str], *,
                 oracle: dict[tuple[str, str], tuple[str, int]] | None = None, when_preempt: str = "TryNextFlavor") -> Assign:
    test = cq(TCQ, [fq(f, compute="10", gpu="10") for f in UNO_DUE_TRE], cohort="cohort", within="LowerPriority",
              reclaim="LowerPriority", when_preempt=when_preempt)
    other = cq("other-clusterqueue", [fq(f, compute="0", gpu="0") for f in UNO_DUE_TRE], cohort="cohort")
    return Assign("TestReclaimBeforePriorityPreemption", name, [test, other], wl("incoming", TCQ, **requests), mode,
                  want, running=held(TCQ, test_usage) + held("other-clusterqueue", other_usage),
                  flavors=[flavor(f) for f in UNO_DUE_TRE], oracle=oracle or {}, borrowing=None)


GPU = "example.com/gpu"
RECLAIM_BEFORE_PREEMPTION: list[Any] = [
    reclaim_case("Select first flavor which fits", {"gpu": "10"}, {("uno", GPU): 1}, {("due", GPU): 1}, "Fit",
                 {GPU: "tre"}),
    reclaim_case("Select first flavor where gpu reclamation is possible", {"gpu": "10"}, {("uno", GPU): 1},
                 {("due", GPU): 1, ("tre", GPU): 1}, "Preempt", {GPU: "due"},
                 oracle={("uno", GPU): ("Preempt", 0), ("due", GPU): ("Reclaim", 0)}),
    *(reclaim_case(name, {"gpu": "10"}, {("uno", GPU): 1}, {("due", GPU): 1, ("tre", GPU): 1}, "Preempt", {GPU: "uno"},
                   when_preempt="MayStopSearch")
      for name in ("Select first flavor when flavor fungibility is disabled",
                   "Select first flavor when flavor fungibility is disabled; using deprecated WhenCanPreempt=MayStopSearch")),
    reclaim_case("Select first flavor where priority based preemption is possible", {"gpu": "10"},
                 {("uno", GPU): 1, ("due", GPU): 1, ("tre", GPU): 1}, {}, "Preempt", {GPU: "uno"}),
    reclaim_case("Select second flavor where gpu reclamation is possible, as compute Fits",
                 {"gpu": "10", "compute": "10"}, {("uno", GPU): 1, ("uno", "compute"): 1, ("due", "compute"): 1},
                 {("due", GPU): 1, ("tre", GPU): 1}, "Preempt", {GPU: "tre", "compute": "tre"},
                 oracle={("uno", GPU): ("Preempt", 0), ("due", GPU): ("Reclaim", 0), ("tre", GPU): ("Reclaim", 0)}),
]


def hierarchical_case(name: str, test_usage: dict[tuple[str, str], str | int],
                      other_usage: dict[tuple[str, str], str | int], want: str) -> Assign:
    """Three flavors and a three-level cohort tree, each cohort with 4 cpu of its own flavor."""
    cohorts = [cohort("three", [fq("three", cpu="4")]), cohort("two", [fq("two", cpu="4")], parent="three"),
               cohort("one", [fq("one", cpu="4")], parent="two")]
    zeros = [fq(f, cpu="0") for f in ("one", "two", "three")]
    queues = [cq(TCQ, zeros, cohort="one", within="LowerPriority", reclaim="LowerPriority", when_preempt="TryNextFlavor"),
              cq("other-clusterqueue", zeros, cohort="two")]
    return Assign("TestHierarchical", name, queues, wl("incoming", TCQ, cpu="4"), "Fit", {"cpu": want},
                  running=held(TCQ, test_usage) + held("other-clusterqueue", other_usage), cohorts=cohorts,
                  flavors=[flavor(f) for f in ("one", "two", "three")], borrowing=None)


HIERARCHICAL: list[Any] = [
    hierarchical_case("Select the top flavor", {("one", "cpu"): "4"}, {("two", "cpu"): "4"}, "three"),
    hierarchical_case("Select the first flavor which fits", {("one", "cpu"): "4"}, {}, "two"),
]

DELETED: list[Any] = [
    NotModelled("TestDeletedFlavors", "multiple flavors, skip missing ResourceFlavor", "transient"),
    NotModelled("TestDeletedFlavors", "flavor not found", "transient"),
]

PREFERRED: list[Any] = [
    Preferred("TestIsPreferred", "feature gate disabled prioritises preemption", ("fit", 0), ("preempt", 0), None, True),
    Preferred("TestIsPreferred", "explicit BorrowingOverPreemption prioritises borrowing distance", ("preempt", 1),
              ("fit", 2), "BorrowingOverPreemption", True),
    Preferred("TestIsPreferred", "explicit PreemptionOverBorrowing prioritises lower preemption", ("preempt", 1),
              ("fit", 2), "PreemptionOverBorrowing", False),
    Preferred("TestIsPreferred", "explicit PreemptionOverBorrowing breaks borrowing ties with preemption",
              ("preempt", 1), ("fit", 1), "PreemptionOverBorrowing", False),
]

CASES: list[Any] = [*ASSIGN_FLAVORS, *RECLAIM_BEFORE_PREEMPTION, *HIERARCHICAL, *DELETED, *PREFERRED]

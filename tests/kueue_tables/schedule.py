"""pkg/scheduler/scheduler_test.go TestSchedule at kubernetes-sigs/kueue v0.16.1: one scheduling cycle on the
table's ClusterQueues and workloads, then the state of every workload (a preemptor waits for its victims, which are
`preempted`). Workloads are named namespace/name, each in the ClusterQueue its LocalQueue points to; times are
seconds from the test's `now`."""

from __future__ import annotations

from typing import Any

from kueue_tables import NotModelled, Reserve, Schedule, cohort, cq, flavors, fq, held, usage, wl

LP, ANY, NEVER = "LowerPriority", "Any", "Never"
FLAVORS = flavors("default", "on-demand", "spot", "model-a")
# The table's shared ClusterQueues (the LocalQueues main/sales, main/eng-alpha, main/eng-beta, lend-a-queue and
# lend-b-queue point to them).
SALES = cq("sales", [fq("default", cpu=("50", "0"))], strategy="StrictFIFO")
ENG_ALPHA = cq("eng-alpha", [fq("on-demand", cpu=("50", "50")), fq("spot", cpu=("100", "0"))], cohort="eng",
               strategy="StrictFIFO")
ENG_BETA = cq("eng-beta", [fq("on-demand", cpu=("50", "10")), fq("spot", cpu=("0", "100"))],
              [fq("model-a", gpu=("20", "0"))], cohort="eng", strategy="StrictFIFO", reclaim=ANY, within=LP)
FLAVOR_NONEXISTENT = cq("flavor-nonexistent-cq", [fq("nonexistent-flavor", cpu="50")], strategy="StrictFIFO")
LEND_A = cq("lend-a", [fq("default", cpu=("3", "", "2"))], cohort="lend")
LEND_B = cq("lend-b", [fq("default", cpu=("2", "", "2"))], cohort="lend")
BASE = [SALES, ENG_ALPHA, ENG_BETA, FLAVOR_NONEXISTENT, LEND_A, LEND_B]


def ts(name: str, workloads: list[Any], want: dict[str, str], *, queues: list[Any] = (),  # type: ignore[assignment]
       **kw: Any) -> Schedule:
    return Schedule("TestSchedule", name, [*BASE, *queues], workloads, want, flavors=FLAVORS, **kw)


def skip(name: str, reason: str) -> NotModelled:
    return NotModelled("TestSchedule", name, reason)


CO = "co"
R1R2 = [fq("default", r1=("10", "10"), r2=("10", "10"))]
CQ123 = [cq(n, R1R2, cohort=CO, reclaim=ANY, within=LP) for n in ("cq1", "cq2", "cq3")]
OTHER_3 = [cq("other-alpha", [fq("on-demand", cpu="2")], cohort="other", reclaim=ANY, within=LP),
           cq("other-beta", [fq("on-demand", cpu="2")], cohort="other")]
GPU_PAIR = dict(cohort="other", within=LP, reclaim=LP)
LEND_TO_B = [cq("ClusterQueueB", [fq("on-demand", gpu="0")], cohort="root")]
LOCAL_CAPACITY = [cohort("root-cohort", [fq("on-demand", gpu="2"), fq("spot", gpu="0")]),
                  cohort("child-cohort", [fq("on-demand", gpu="5"), fq("spot", gpu="7")], parent="root-cohort")]
QUEUE1 = cq("queue1", [fq("on-demand", gpu="3"), fq("spot", gpu="3")], cohort="child-cohort", within=LP, reclaim=ANY,
            when_preempt="TryNextFlavor", when_borrow="TryNextFlavor")
QUEUE1_LOAD = [wl("default/a1", "queue1", gpu="8", on="on-demand"), wl("default/a2", "queue1", gpu="3", on="spot"),
               wl("default/a3", "queue1", gpu="1")]

SCHEDULE: list[Any] = [
    ts("use second flavor when the first has no preemption candidates; WhenCanPreempt: MayStopSearch",
       [wl("eng-alpha/admitted", "other-alpha", cpu="50", on="on-demand"), wl("eng-alpha/new", "other-alpha", cpu="20")],
       {"eng-alpha/new": "admitted:spot"},
       queues=[cq("other-alpha", [fq("on-demand", cpu=("50", "50")), fq("spot", cpu=("100", "0"))], within=LP,
                  when_preempt="MayStopSearch")]),
    skip("workload fits in single clusterQueue, with check state ready", "checks"),
    ts("skip workload with missing or deleted ClusterQueue (NoFit)",
       [wl("sales/missing-cq-workload", "non-existent-cq", cpu="1")], {}),
    skip("workload fits in single clusterQueue, with check state pending", "checks"),
    skip("error during admission", "api-error"),
    ts("single clusterQueue full", [wl("sales/new", "sales", cpu="11"), wl("sales/assigned", "sales", cpu="40", on="default")],
       {}),
    skip("failed to match clusterQueue selector", "namespace"),
    ts("admit in different cohorts", [wl("sales/new", "sales", cpu="1"), wl("eng-alpha/new", "eng-alpha", cpu="51")],
       {"sales/new": "admitted:default", "eng-alpha/new": "admitted:on-demand"}),
    ts("admit in same cohort with no borrowing", [wl("eng-alpha/new", "eng-alpha", cpu="40"),
                                                   wl("eng-beta/new", "eng-beta", cpu="40")],
       {"eng-alpha/new": "admitted:on-demand", "eng-beta/new": "admitted:on-demand"}),
    skip("assign multiple resources and flavors", "podsets"),
    ts("cannot borrow if cohort was assigned and would result in overadmission",
       [wl("eng-alpha/new", "eng-alpha", cpu="45"), wl("eng-beta/new", "eng-beta", cpu="56")],
       {"eng-alpha/new": "admitted:on-demand"}),
    ts("can borrow if cohort was assigned and will not result in overadmission",
       [wl("eng-alpha/new", "eng-alpha", cpu="45"), wl("eng-beta/new", "eng-beta", cpu="55")],
       {"eng-alpha/new": "admitted:on-demand", "eng-beta/new": "admitted:on-demand"}),
    ts("can borrow if needs reclaim from cohort in different flavor",
       [wl("eng-alpha/can-reclaim", "eng-alpha", cpu="100"), wl("eng-beta/needs-to-borrow", "eng-beta", cpu="1"),
        wl("eng-beta/user-on-demand", "eng-beta", cpu="50", on="on-demand"),
        wl("eng-beta/user-spot", "eng-beta", cpu="1", on="spot")],
       {"eng-beta/needs-to-borrow": "admitted:on-demand"}),
    ts("workload exceeds lending limit when borrow in cohort",
       [wl("lend/a", "lend-b", cpu="2", on="default"), wl("lend/b", "lend-b", cpu="3")], {}),
    skip("lendingLimit should not affect assignments when feature disabled", "feature-off"),
    ts("preempt workloads in ClusterQueue and cohort",
       [wl("eng-beta/preemptor", "eng-beta", cpu="20"), wl("eng-alpha/use-all-spot", "eng-alpha", cpu="100", on="spot"),
        wl("eng-beta/low-1", "eng-beta", prio=-1, cpu="30", on="on-demand"),
        wl("eng-beta/low-2", "eng-beta", prio=-2, cpu="10", on="on-demand"),
        wl("eng-alpha/borrower", "eng-alpha", cpu="60", on="on-demand")],
       {"eng-alpha/borrower": "preempted", "eng-beta/low-2": "preempted"}),
    ts("multiple CQs need preemption",
       [wl("eng-beta/preemptor", "other-beta", prio=-1, cpu="1"), wl("eng-alpha/pending", "other-alpha", prio=1, cpu="1"),
        wl("eng-alpha/use-all", "other-alpha", cpu="100", on="on-demand")],
       {"eng-alpha/use-all": "preempted"},
       queues=[cq("other-alpha", [fq("on-demand", cpu=("50", "50"))], cohort="other"),
               cq("other-beta", [fq("on-demand", cpu=("50", "10"))], cohort="other", reclaim=ANY, within=LP)]),
    ts("cannot borrow resource not listed in clusterQueue", [wl("eng-alpha/new", "eng-alpha", gpu="1")], {}),
    ts("not enough resources to borrow, fallback to next flavor; WhenCanPreempt: TryNextFlavor",
       [wl("eng-alpha/new", "eng-alpha", cpu="60"), wl("eng-beta/existing", "eng-beta", cpu="45", on="on-demand")],
       {"eng-alpha/new": "admitted:spot"}),
    ts("workload should not fit in nonexistent clusterQueue", [wl("sales/foo", "nonexistent-cq", cpu="1")], {}),
    ts("workload should not fit in clusterQueue with nonexistent flavor",
       [wl("sales/foo", "flavor-nonexistent-cq", cpu="1")], {}),
    # The running workload holds cpu on two flavors through two pod sets: written as two workloads, one per flavor
    # (quota is counted per flavor and resource, and neither is a preemption candidate here).
    ts("no overadmission while borrowing",
       [wl("eng-beta/new", "eng-beta", created=-2, cpu="50"), wl("eng-alpha/new-alpha", "eng-alpha", created=-1, cpu="1"),
        wl("eng-gamma/new-gamma", "eng-gamma", created=0, cpu="50"),
        wl("eng-gamma/existing-borrow-on-demand", "eng-gamma", cpu="51", on="on-demand"),
        wl("eng-gamma/existing-use-all-spot", "eng-gamma", cpu="100", on="spot")],
       {"eng-beta/new": "admitted:on-demand", "eng-alpha/new-alpha": "admitted:on-demand"},
       queues=[cq("eng-gamma", [fq("on-demand", cpu=("50", "10")), fq("spot", cpu=("0", "100"))], cohort="eng",
                  reclaim=ANY, within=LP)]),
    skip("partial admission single variable pod set", "partial"),
    skip("partial admission single variable pod set, preempt first", "partial"),
    skip("partial admission single variable pod set, preempt with partial admission", "partial"),
    skip("partial admission multiple variable pod sets", "partial"),
    # With partial admission off the pod sets count whole: 20 + 30 + 15 cpu.
    ts("partial admission disabled, multiple variable pod sets", [wl("sales/new", "sales", cpu="65")], {}),
    ts("two workloads can borrow different resources from the same flavor in the same cycle",
       [wl("sales/wl1", "cq1", prio=-1, r1="16"), wl("sales/wl2", "cq2", prio=-2, r2="16")],
       {"sales/wl1": "admitted:default", "sales/wl2": "admitted:default"}, queues=CQ123),
    ts("two workloads can borrow the same resources from the same flavor in the same cycle if fits in the cohort quota",
       [wl("sales/wl1", "cq1", prio=-1, r1="16"), wl("sales/wl2", "cq2", prio=-2, r1="14")],
       {"sales/wl1": "admitted:default", "sales/wl2": "admitted:default"}, queues=CQ123),
    ts("only one workload can borrow one resources from the same flavor in the same cycle if cohort quota cannot fit",
       [wl("sales/wl1", "cq1", prio=-1, r1="16"), wl("sales/wl2", "cq2", prio=-2, r1="16")],
       {"sales/wl1": "admitted:default"}, queues=CQ123),
    ts("preemption while borrowing, workload waiting for preemption should not block a borrowing workload in another CQ",
       [wl("eng-alpha/a", "cq_a", created=1, cpu="3"), wl("eng-beta/b", "cq_b", created=2, cpu="1"),
        wl("eng-alpha/admitted_a", "cq_a", cpu="2", on="default")],
       {"eng-beta/b": "admitted:default"},
       queues=[cq("cq_shared", [fq("default", cpu=("4", "0"))], cohort="preemption-while-borrowing"),
               cq("cq_a", [fq("default", cpu=("0", "3"))], cohort="preemption-while-borrowing", reclaim=LP,
                  borrow_within=LP),
               cq("cq_b", [fq("default", cpu="0")], cohort="preemption-while-borrowing", reclaim=LP, borrow_within=LP)]),
    ts("with fair sharing: schedule workload with lowest share first",
       [wl("eng-alpha/all_nominal", "eng-alpha", cpu="50", on="on-demand"),
        wl("eng-beta/borrowing", "eng-beta", cpu="55", on="on-demand"),
        wl("eng-beta/older_new", "eng-beta", created=-60, cpu="1"), wl("eng-alpha/new", "eng-alpha", created=0, cpu="5")],
       {"eng-alpha/new": "admitted:on-demand"}, fair=True,
       queues=[cq("eng-shared", [fq("on-demand", cpu=("10", "0"))], cohort="eng")]),
    ts("hierarchical fair sharing schedule workload which wins tournament",
       [wl("eng-alpha/d0", "d", cpu="10", on="on-demand"), wl("eng-alpha/e0", "e", cpu="20", on="on-demand"),
        wl("eng-alpha/g0", "g", cpu="100", on="on-demand"), wl("eng-alpha/d1", "d", cpu="70"),
        wl("eng-alpha/e1", "e", cpu="61"), wl("eng-alpha/f1", "f", cpu="1"), wl("eng-alpha/g1", "g", cpu="1")],
       {"eng-alpha/d1": "admitted:on-demand"}, fair=True,
       cohorts=[cohort("A", [fq("on-demand", cpu="200")]), cohort("B", parent="A"), cohort("C", parent="A")],
       queues=[cq(n, [fq("on-demand", cpu="0")], cohort=c) for n, c in (("d", "B"), ("e", "B"), ("f", "C"), ("g", "C"))]),
    ts("fair sharing schedule workload with lowest drf after admission",
       [wl("eng-alpha/b0", "b", cpu="10", on="on-demand"), wl("eng-alpha/b1", "b", cpu="50"),
        wl("eng-alpha/c1", "c", cpu="75")],
       {"eng-alpha/b1": "admitted:on-demand"}, fair=True, cohorts=[cohort("A", [fq("on-demand", cpu="100")])],
       queues=[cq(n, [fq("on-demand", cpu="0")], cohort="A") for n in "bc"]),
    *(ts(f"fair sharing two queues with {which} schedules workload which borrows less",
         [wl("eng-alpha/b0", "b", cpu="4", on="on-demand"), wl("eng-alpha/b1", "b", prio=9001, cpu="4"),
          wl("eng-alpha/c1", "c", cpu="4")],
         {"eng-alpha/c1": "admitted:on-demand"}, fair=True, cohorts=[cohort("A", [fq("on-demand", cpu="8")])],
         queues=[cq(n, [fq("on-demand", cpu="0")], cohort="A", weight=weight, reclaim=ANY, within=NEVER) for n in "bc"])
      for which, weight in (("weight 0", "0"), ("high weight", "123456789"))),
    ts("fair sharing schedule singleton cqs and cq without cohort",
       [wl("eng-alpha/a1", "a", cpu="10"), wl("eng-alpha/b1", "b", cpu="10"), wl("eng-alpha/c1", "c", cpu="10")],
       {"eng-alpha/a1": "admitted:on-demand", "eng-alpha/b1": "admitted:on-demand", "eng-alpha/c1": "admitted:on-demand"},
       fair=True, cohorts=[cohort("A", [fq("on-demand", cpu="10")]), cohort("B")],
       queues=[cq("a", [fq("on-demand", cpu="0")], cohort="A"), cq("b", [fq("on-demand", cpu="10")], cohort="B"),
               cq("c", [fq("on-demand", cpu="10")])]),
    ts("fair sharing schedule highest priority first",
       [wl("eng-alpha/b1", "b", prio=99, cpu="10"), wl("eng-alpha/c1", "c", prio=101, cpu="10")],
       {"eng-alpha/c1": "admitted:on-demand"}, fair=True, cohorts=[cohort("A", [fq("on-demand", cpu="10")]), cohort("B")],
       queues=[cq(n, [fq("on-demand", cpu="0")], cohort="A") for n in "bc"]),
    ts("fair sharing schedule earliest timestamp first",
       [wl("eng-alpha/b1", "b", created=1, prio=101, cpu="10"), wl("eng-alpha/c1", "c", created=0, prio=101, cpu="10")],
       {"eng-alpha/c1": "admitted:on-demand"}, fair=True, cohorts=[cohort("A", [fq("on-demand", cpu="10")]), cohort("B")],
       queues=[cq(n, [fq("on-demand", cpu="0")], cohort="A") for n in "bc"]),
    ts("minimal preemptions when target queue is exhausted",
       [wl("eng-alpha/a1", "other-alpha", prio=-2, cpu="1", on="on-demand"),
        wl("eng-alpha/a2", "other-alpha", prio=-2, cpu="1", on="on-demand"),
        wl("eng-alpha/a3", "other-alpha", prio=-1, cpu="1", on="on-demand"),
        *(wl(f"eng-beta/b{i}", "other-beta", cpu="1", on="on-demand") for i in (1, 2, 3)),
        wl("eng-alpha/incoming", "other-alpha", cpu="2")],
       {"eng-alpha/a1": "preempted", "eng-alpha/a2": "preempted"},
       queues=[*OTHER_3, cq("other-gamma", [fq("on-demand", cpu="2")], cohort="other")]),
    ts("A workload is only eligible to do preemptions if it fits fully within nominal quota",
       [wl("eng-alpha/a1", "other-alpha", prio=-1, cpu="1", on="on-demand"),
        wl("eng-beta/b1", "other-beta", prio=-1, cpu="1", on="on-demand"),
        wl("eng-alpha/incoming", "other-alpha", prio=1, cpu="3")], {}, queues=OTHER_3),
    ts("with fair sharing: preempt workload from CQ with the highest share",
       [wl("eng-alpha/all_spot", "eng-alpha", cpu="100", on="spot"),
        *(wl(f"eng-alpha/alpha{i}", "eng-alpha", cpu="20", on="on-demand") for i in (1, 2, 3, 4)),
        wl("eng-gamma/gamma1", "eng-gamma", cpu="10", on="on-demand"),
        *(wl(f"eng-gamma/gamma{i}", "eng-gamma", cpu="20", on="on-demand") for i in (2, 3, 4)),
        wl("eng-beta/preemptor", "eng-beta", cpu="30")],
       {"eng-alpha/alpha1": "preempted", "eng-gamma/gamma1": "preempted"}, fair=True,
       queues=[cq("eng-gamma", [fq("on-demand", cpu=("50", "0"))], cohort="eng")]),
    ts("multiple preemptions without borrowing",
       [wl("eng-alpha/a1", "other-alpha", cpu="2", on="default"), wl("eng-beta/b1", "other-beta", cpu="2", on="default"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, cpu="2"), wl("eng-beta/preemptor", "other-beta", prio=100, cpu="2")],
       {"eng-alpha/a1": "preempted", "eng-beta/b1": "preempted"},
       queues=[cq(n, [fq("default", cpu="2")], cohort="other", within=LP) for n in ("other-alpha", "other-beta")]),
    ts("multiple preemptions preemption possible after earlier workload fits",
       [wl("eng-beta/b1", "other-beta", cpu="2", on="default"), wl("eng-alpha/fit", "other-alpha", prio=100, cpu="1"),
        wl("eng-beta/preemptor", "other-beta", prio=99, cpu="2")],
       {"eng-alpha/fit": "admitted:default", "eng-beta/b1": "preempted"},
       queues=[cq("other-alpha", [fq("default", cpu="1")], cohort="other", within=LP),
               cq("other-beta", [fq("default", cpu="2")], cohort="other", within=LP)]),
    ts("multiple preemptions skip preemption when shared limited resource",
       [wl("eng-alpha/a1", "other-alpha", cpu="2", on="default"), wl("eng-beta/b1", "other-beta", cpu="2", on="default"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, cpu="3"),
        wl("eng-beta/pretending-preemptor", "other-beta", prio=99, cpu="3")],
       {"eng-alpha/a1": "preempted"},
       queues=[*(cq(n, [fq("default", cpu="2")], cohort="other", within=LP, borrow_within=LP)
                 for n in ("other-alpha", "other-beta")),
               cq("resource-bank", [fq("default", cpu="1")], cohort="other")]),
    # These ClusterQueues set no reclaimWithinCohort: Kueue's test objects leave it empty, not Never, and with fair
    # sharing an empty policy lets them preempt while borrowing.
    ts("multiple preemptions within cq when fair sharing",
       [*(wl(f"{ns}/{w}", q, cpu="3", on="default") for ns, w, q in (("eng-alpha", "a1", "other-alpha"),
                                                                     ("eng-beta", "b1", "other-beta"),
                                                                     ("eng-gamma", "c1", "other-gamma"))),
        *(wl(f"{ns}/preemptor", q, prio=100, cpu="3") for ns, q in (("eng-alpha", "other-alpha"),
                                                                     ("eng-beta", "other-beta"),
                                                                     ("eng-gamma", "other-gamma")))],
       {"eng-alpha/a1": "preempted", "eng-beta/b1": "preempted", "eng-gamma/c1": "preempted"}, fair=True,
       queues=[*(cq(n, [fq("default", cpu="2")], cohort="other", within=LP, reclaim="")
                 for n in ("other-alpha", "other-beta", "other-gamma")),
               cq("resource-bank", [fq("default", cpu="3")], cohort="other")]),
    ts("multiple preemptions skip overlapping preemption targets",
       [wl("eng-alpha/a1", "other-alpha", on="default", **{"alpha-resource": "1"}),
        wl("eng-beta/b1", "other-beta", on="default", **{"beta-resource": "1"}),
        wl("eng-gamma/c1", "other-gamma", cpu="9", on="default"),  # its admission holds cpu only
        wl("eng-alpha/preemptor", "other-alpha", prio=100, cpu="3", **{"alpha-resource": "1"}),
        wl("eng-beta/pretending-preemptor", "other-beta", prio=99, cpu="3", **{"beta-resource": "1"})],
       {"eng-alpha/a1": "preempted", "eng-gamma/c1": "preempted"}, fair=True,
       queues=[*(cq(f"other-{x}", [fq("default", cpu="0", **{f"{x}-resource": "1"})], cohort="other", within=LP,
                    reclaim=ANY) for x in ("alpha", "beta", "gamma")),
               cq("resource-bank", [fq("default", cpu="9")], cohort="other")]),
    ts("not enough resources", [wl("sales/new", "sales", cpu="100")], {}),
    skip("container does not satisfy limitRange constraints", "limits"),
    skip("container resource requests exceed limits", "limits"),
    ts("not enough resources with fair sharing enabled", [wl("sales/new", "sales", cpu="100")], {}, fair=True),
    ts("prefer reclamation over cq priority based preemption",
       [wl("eng-alpha/a1", "other-alpha", prio=50, gpu="5", on="on-demand"),
        wl("eng-beta/b1", "other-beta", prio=50, gpu="5", on="spot"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, gpu="6")],
       {"eng-beta/b1": "preempted"},
       queues=[cq("other-alpha", [fq("on-demand", gpu="10"), fq("spot", gpu="10")], **GPU_PAIR),
               cq("other-beta", [fq("on-demand", gpu="0"), fq("spot", gpu="0")], **GPU_PAIR)]),
    ts("with fair sharing: prefer reclamation over cq priority based preemption; with preemption while borrowing",
       [wl("eng-alpha/a1", "other-alpha", prio=50, gpu="5", on="on-demand"),
        wl("eng-beta/b1", "other-beta", prio=50, gpu="5", on="spot"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, gpu="8")],
       {"eng-beta/b1": "preempted"}, fair=True,
       queues=[cq("other-alpha", [fq("on-demand", gpu="7"), fq("spot", gpu="7")], **GPU_PAIR),
               cq("other-beta", [fq("on-demand", gpu="3"), fq("spot", gpu="3")], cohort="other", within="",
                  reclaim="")]),
    ts("prefer first preemption flavor when second flavor requires both reclaim and cq priority preemption",
       [wl("eng-alpha/a1", "other-alpha", prio=50, gpu="5", on="on-demand"),
        wl("eng-alpha/a2", "other-alpha", prio=50, gpu="5", on="spot"),
        wl("eng-beta/b1", "other-beta", prio=50, gpu="5", on="spot"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, gpu="6")],
       {"eng-alpha/a1": "preempted"},
       queues=[cq("other-alpha", [fq("on-demand", gpu="10"), fq("spot", gpu="10")], **GPU_PAIR),
               cq("other-beta", [fq("on-demand", gpu="0"), fq("spot", gpu="0")], cohort="other")]),
    ts("prefer first preemption flavor when second flavor also requires cq preemption",
       [wl("eng-alpha/a1", "other-alpha", prio=50, gpu="6", on="on-demand"),
        wl("eng-alpha/a2", "other-alpha", prio=50, gpu="5", on="spot"),
        wl("eng-beta/b1", "other-beta", prio=9001, gpu="5", on="spot"),
        wl("eng-alpha/preemptor", "other-alpha", prio=100, gpu="5")],
       {"eng-alpha/a1": "preempted"},
       queues=[cq("other-alpha", [fq("on-demand", gpu="10"), fq("spot", gpu="10")], **GPU_PAIR),
               cq("other-beta", [fq("on-demand", gpu="0"), fq("spot", gpu="0")], cohort="other")]),
    ts("workload requiring reclaimation prioritized over wl in another full cq",
       [wl("eng-alpha/Admitted-Workload-1", "CQ1", gpu="5", on="on-demand"), wl("eng-alpha/WL1", "CQ1", created=0, gpu="10"),
        wl("eng-beta/WL2", "CQ2", created=1, gpu="10"),
        wl("eng-gamma/Admitted-Workload-2", "CQ3", gpu="5", on="on-demand"),
        wl("eng-gamma/Admitted-Workload-3", "CQ3", prio=1, gpu="5", on="on-demand")],
       {"eng-gamma/Admitted-Workload-2": "preempted"},
       queues=[cq("CQ1", [fq("on-demand", gpu="10")], cohort="other"),
               cq("CQ2", [fq("on-demand", gpu="10")], cohort="other", reclaim=ANY),
               cq("CQ3", [fq("on-demand", gpu="0")], cohort="other")]),
    *(ts(f"capacity {verdict} when lending clusterqueue {why} (ReclaimWithinCohort={policy})",
         [wl("eng-alpha/a1-admitted", "ClusterQueueA", gpu="1", on="on-demand"),
          wl("eng-alpha/a2-pending", "ClusterQueueA", gpu="2"), wl("eng-beta/b1-pending", "ClusterQueueB", gpu="1")],
         {"eng-beta/b1-pending": "admitted:on-demand"} if policy == ANY else {},
         queues=[cq("ClusterQueueA", [fq("on-demand", gpu="2")], cohort="root", reclaim=policy), *LEND_TO_B])
      for verdict, why, policy in (("not blocked", "can reclaim", ANY), ("blocked", "not guaranteed to reclaim", LP),
                                   ("blocked", "not guaranteed to reclaim", NEVER))),
    ts("in a hierarchical cohort, workload borrowing less is scheduled first",
       [wl("eng-alpha/guaranteed", "guaranteed", cpu="4"), wl("eng-alpha/best-effort", "best-effort", prio=3, cpu="4")],
       {"eng-alpha/guaranteed": "admitted:default"},
       cohorts=[cohort("root"), cohort("guaranteed", [fq("default", cpu="4")], parent="root")],
       queues=[cq("guaranteed", [fq("default", cpu="0")], cohort="guaranteed"),
               cq("best-effort", [fq("default", cpu="0")], cohort="root")]),
    ts("don't assign flavor if there are no candidates for preemption",
       [wl("eng-alpha/admitted", "cq2", cpu="1", on="on-demand", at=-1), wl("eng-alpha/new", "cq1", prio=100, cpu="1")],
       {"eng-alpha/new": "admitted:spot"},
       queues=[cq("cq1", [fq("on-demand", cpu=("0", "1")), fq("spot", cpu=("0", "1"))], cohort="cohort", within=LP,
                  reclaim=ANY, borrow_within=LP, when_preempt="MayStopSearch", when_borrow="MayStopSearch"),
               cq("cq2", [fq("on-demand", cpu="1"), fq("spot", cpu="1")], cohort="cohort")]),
    skip("workload-slice fits in single clusterQueue", "slices"),
    ts("prefer flavor with most local capacity", QUEUE1_LOAD, {"default/a3": "admitted:spot"}, fair=True,
       cohorts=LOCAL_CAPACITY, queues=[QUEUE1]),
    ts("prefer flavor with most local capacity (FS=false)", QUEUE1_LOAD, {"default/a3": "admitted:spot"},
       cohorts=LOCAL_CAPACITY, queues=[QUEUE1]),
    skip("pending admission check with nofit and fit flavors", "checks"),
    ts("admit to second flavor when first needs preemption; WhenCanPreempt: TryNextFlavor",
       [wl("eng-alpha/blocker", "preempt-attempts-cq", prio=50, cpu="1", on="on-demand"),
        wl("eng-alpha/test-wl", "preempt-attempts-cq", prio=100, cpu="1")],
       {"eng-alpha/test-wl": "admitted:spot"},
       queues=[cq("preempt-attempts-cq", [fq("on-demand", cpu="1"), fq("spot", cpu="1")], within=LP,
                  when_preempt="TryNextFlavor")]),
    ts("admit workload with zero-quantity request for resource not in ClusterQueue",
       [wl("sales/zero-resource-wl", "sales", cpu="1", gpu="0")], {"sales/zero-resource-wl": "admitted:default"}),
    ts("preempt when workload requests zero of a resource not defined in ClusterQueue",
       [wl("sales/preemptor", "preempt-zero-gpu-cq", cpu="2", gpu="0"),
        wl("sales/low-priority", "preempt-zero-gpu-cq", prio=-1, cpu="4", on="default")],
       {"sales/low-priority": "preempted"},
       queues=[cq("preempt-zero-gpu-cq", [fq("default", cpu="4")], within=LP)]),
]

RESERVE_CQ = cq("cq", [fq("on-demand", memory="100"), fq("spot", memory=("0", "100"))],
                [fq("model-a", gpu=("10", "0")), fq("model-b", gpu=("10", "5"))], cohort="eng", strategy="StrictFIFO")
USED = {("on-demand", "memory"): "60", ("spot", "memory"): "50", ("model-a", "example.com/gpu"): "2",
        ("model-b", "example.com/gpu"): "2"}
BORROWING = {**USED, ("spot", "memory"): "60", ("model-b", "example.com/gpu"): "10"}


def tr(name: str, mode: str, used: dict[tuple[str, str], str], asked: dict[str, str], want: dict[str, str],
       borrowing: int = 0) -> Reserve:
    return Reserve("TestResourcesToReserve", name, RESERVE_CQ, held("cq", used), mode, borrowing, usage(**asked),
                   usage(**want), flavors=flavors("on-demand", "spot", "model-a", "model-b"))


RESERVE: list[Any] = [
    tr("Reserved memory and gpu less than assignment usage, assignment preempts", "Preempt",
       {**USED, ("model-a", "example.com/gpu"): "6"}, {"memory_on-demand": "50", "gpu_model-a": "6"},
       {"memory_on-demand": "40", "gpu_model-a": "4"}),
    tr("Reserved memory equal assignment usage, assignment preempts", "Preempt", USED,
       {"memory_on-demand": "30", "gpu_model-a": "2"}, {"memory_on-demand": "30", "gpu_model-a": "2"}),
    tr("Reserved memory equal assignment usage, assignment fits", "Fit", USED,
       {"memory_on-demand": "50", "gpu_model-a": "2"}, {"memory_on-demand": "50", "gpu_model-a": "2"}),
    tr("Reserved memory is 0, CQ is borrowing, assignment preempts without borrowing", "Preempt", BORROWING,
       {"memory_spot": "50", "gpu_model-b": "2"}, {"memory_spot": "0", "gpu_model-b": "0"}),
    tr("Reserved memory cut by nominal+borrowing quota, assignment preempts and borrows", "Preempt", BORROWING,
       {"memory_spot": "50", "gpu_model-b": "2"}, {"memory_spot": "40", "gpu_model-b": "2"}, borrowing=1),
    tr("Reserved memory equal assignment usage, CQ borrowing limit is nil", "Preempt", BORROWING,
       {"memory_on-demand": "50", "gpu_model-b": "2"}, {"memory_on-demand": "50", "gpu_model-b": "2"}, borrowing=1),
]

CASES: list[Any] = [*SCHEDULE, *RESERVE]

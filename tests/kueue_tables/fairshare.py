"""TestDominantResourceShare (pkg/cache/scheduler/fair_sharing_test.go at v0.16.1), translated: the dominant resource
share of every ClusterQueue and Cohort, rounded up and weighted as Kueue's roundedWeightedShare reports it, after the
usage `cq` holds and with a workload's requests (flvResQ) added to every node."""

from __future__ import annotations

from typing import Any

from kueue_tables import Share, cohort, cq, fq, held

T = "TestDominantResourceShare"
GPU = "example.com/gpu"
MAX = 2 ** 63 - 1  # math.MaxInt64: a queue of weight 0 that borrows


def flat(want_cq: tuple[int, str]) -> dict[str, tuple[int, str]]:
    return {"cq": want_cq, "lending-cq": (0, ""), "test-cohort": (0, "")}


STANDARD = [cq("cq", [fq("default", cpu="2", gpu="5")], cohort="test-cohort", weight=1),
            cq("lending-cq", [fq("default", cpu="8", gpu="5")], cohort="test-cohort", weight=1)]


def weighted(cq_weight: str | int, lending: str, lending_weight: str | int = 1) -> list[dict[str, Any]]:
    return [cq("cq", [fq("default", gpu="5")], cohort="test-cohort", weight=cq_weight),
            cq("lending-cq", [fq("default", gpu=lending)], cohort="test-cohort", weight=lending_weight)]


CASES: list[Any] = [
    Share(T, "no cohort", [cq("cq", [fq("default", cpu="2000", gpu="5")])],
          held("cq", {("default", "cpu"): "1000m", ("default", GPU): 2}), {}, {"cq": (0, "")}),
    Share(T, "usage below nominal", STANDARD, held("cq", {("default", "cpu"): "1000m", ("default", GPU): 2}), {},
          flat((0, ""))),
    Share(T, "usage above nominal", STANDARD, held("cq", {("default", "cpu"): "3000m", ("default", GPU): 7}), {},
          flat((200, GPU))),  # (7-5)*1000/10
    Share(T, "usage slightly above nominal in a cohort with large quotas",
          [cq("cq", [fq("default", gpu="500")], cohort="test-cohort", weight=1),
           cq("lending-cq", [fq("default", gpu="1000")], cohort="test-cohort", weight=300)],
          held("cq", {("default", GPU): 501}), {}, flat((1, GPU))),
    Share(T, "usage way above nominal in a cohort with large quotas and weights",
          [cq("cq", [fq("default", gpu="500")], cohort="test-cohort", weight=300),
           cq("lending-cq", [fq("default", gpu="1000")], cohort="test-cohort", weight=300)],
          held("cq", {("default", GPU): 800}), {}, flat((1, GPU))),
    Share(T, "one resource above nominal", STANDARD, held("cq", {("default", "cpu"): "3000m", ("default", GPU): 3}), {},
          flat((100, "cpu"))),  # (3-2)*1000/10
    Share(T, "usage with workload above nominal", STANDARD,
          held("cq", {("default", "cpu"): "1000m", ("default", GPU): 2}),
          {("default", "cpu"): "4000m", ("default", GPU): 4}, flat((300, "cpu"))),  # (1+4-2)*1000/10
    Share(T, "A resource with zero lendable",
          [cq("cq", [fq("default", cpu="2", gpu=("2", None, "0"))], cohort="test-cohort", weight=1),
           cq("lending-cq", [fq("default", cpu="8", gpu=("64", None, "0"))], cohort="test-cohort", weight=1)],
          held("cq", {("default", "cpu"): "1000m", ("default", GPU): 1}),
          {("default", "cpu"): "4000m", ("default", GPU): 4}, flat((300, "cpu"))),
    Share(T, "multiple flavors",
          [cq("cq", [fq("on-demand", cpu="20"), fq("spot", cpu="80")], cohort="test-cohort", weight=1),
           cq("lending-cq", [fq("default", cpu="100")], cohort="test-cohort", weight=1)],
          held("cq", {("on-demand", "cpu"): "15000m", ("spot", "cpu"): "5000m"}),
          {("on-demand", "cpu"): "10000m"}, flat((25, "cpu"))),  # (15+10-20)*1000/200, spot under nominal
    Share(T, "above nominal with integer weight", weighted(2, "5"), held("cq", {("default", GPU): 7}), {},
          flat((100, GPU))),  # ((7-5)*1000/10)/2
    Share(T, "above nominal with decimal weight", weighted("0.5", "5"), held("cq", {("default", GPU): 7}), {},
          flat((400, GPU))),  # ((7-5)*1000/10)/(1/2)
    Share(T, "above nominal with zero weight", weighted(0, "10"), held("cq", {("default", GPU): 7}), {},
          flat((MAX, GPU))),
    Share(T, "cohort has resource share",
          [cq("cq", [fq("default", gpu="5")], cohort="child-cohort", weight=1)],
          held("cq", {("default", GPU): 10}), {},
          {"cq": (100, GPU), "child-cohort": (50, GPU), "root": (0, "")},  # (5/50)*1000, then /2
          cohorts=[cohort("child-cohort", parent="root", weight=2), cohort("root", [fq("default", gpu="45")])]),
    Share(T, "resource share defined for resources only available at the root cohort",
          [cq("cq", [fq("default", gpu="0")], cohort="child-cohort", weight=1)],
          held("cq", {("default", GPU): 10}), {},
          {"cq": (200, GPU), "child-cohort": (100, GPU), "root": (0, "")},  # (10/50)*1000, then /2
          cohorts=[cohort("child-cohort", parent="root", weight=2), cohort("root", [fq("default", gpu="50")])]),
    Share(T, "resource share affected by borrowing limit",
          [cq("cq", [fq("default", gpu="0")], cohort="child-cohort")],
          held("cq", {("default", GPU): 10}), {},
          {"cq": (1000, GPU), "child-cohort": (200, GPU), "root": (0, "")},  # 10 of 10 from cq's view, 10 of 50 above
          cohorts=[cohort("child-cohort", [fq("default", gpu=("0", "10"))], parent="root"),
                   cohort("root", [fq("default", gpu="50")])]),
]

"""An offline Kueue admission simulator.

Give it Kueue's own objects (ResourceFlavor, ClusterQueue and Cohort manifests as plain dicts, v1beta1 or v1beta2
field names, optional WorkloadPriorityClasses, and whether the Kueue configuration turns fair sharing on) and the
workloads (one per pod); it runs admission cycles until nothing changes (or a given number of them) and returns, for
every workload, whether it is admitted (and on which flavors), pending (and why) or preempted (and by whom). It
follows Kueue's scheduler (v0.16) in modules shaped like Kueue's own packages: `objects` (what it reads and returns),
`hierarchy` and `cache` (the cohort tree, usage and fit), `flavorassigner`, `preemption` (classical), `fairsharing`
and `scheduler` (the loop); nothing there knows about our portfolio.

    result = simulate(flavors=[...], cluster_queues=[...], cohorts=[...], workloads=[Workload(...), ...])
    result.outcomes["my-pod"].state  # "admitted" | "pending" | "preempted"
"""

from generator.admission.objects import (
    ClusterQueue,
    Cohort,
    FairSharing,
    Outcome,
    Result,
    SelectorRule,
    State,
    Usage,
    Workload,
    pod_requests,
    quantity,
    show_amount,
    tolerates,
)
from generator.admission.scheduler import simulate

__all__ = ["ClusterQueue", "Cohort", "FairSharing", "Outcome", "Result", "SelectorRule", "State", "Usage", "Workload", "pod_requests",
           "quantity", "show_amount", "simulate", "tolerates"]

"""An offline Kueue admission simulator.

Give it Kueue's own objects (ResourceFlavor and ClusterQueue manifests as plain dicts, v1beta1 or v1beta2 field
names, optional WorkloadPriorityClasses) and the workloads (one per pod); it runs admission cycles until
nothing changes and returns, for every workload, whether it is admitted (and on which flavors), pending (and
why) or preempted (and by whom). It follows Kueue's scheduler in modules shaped like Kueue's own packages:
`objects` (what it reads and returns), `cache` (usage and fit), `flavorassigner`, `preemption` and `scheduler`
(the loop); nothing there knows about our portfolio.

    result = simulate(flavors=[...], cluster_queues=[...], workloads=[Workload(...), ...])
    result.outcomes["my-pod"].state  # "admitted" | "pending" | "preempted"
"""

from generator.admission.objects import (
    ClusterQueue,
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

__all__ = ["ClusterQueue", "Outcome", "Result", "SelectorRule", "State", "Usage", "Workload", "pod_requests",
           "quantity", "show_amount", "simulate", "tolerates"]

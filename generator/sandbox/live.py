"""What the box's controllers did with each model, read from the API server in one pass.

Per model: the Kueue Workload of its predictor pod (admitted or not, on which flavor), the pod (its node and
phase), the InferenceService's Ready and Stopped conditions, and the GPUs its pods hold on nodes. From these, the
model's state in the simulator's words, when the controllers have settled on one:

- `admitted`: its Workload is admitted and its pod Running on a node;
- `unschedulable`: its Workload is admitted, and the scheduler found no node for the pod;
- `pending`: its Workload waits: Kueue's scheduler has tried it and keeps QuotaReserved False (its message says why);
- `off`: the InferenceService is stopped, and neither its Deployment nor a pod is left.

Anything else is a transition (`starting`: no pod or no Workload yet; `admitting`: admitted, pod not yet running;
`evicted`: Kueue is taking the pod away; `stopping`) or says that Kueue does not manage the pod (`not queued`).
A rolling update's model is what its newest pod is, as `plan` has it. `preempted` is not read here: it is a pending
model whose admitted pod Kueue took away, which only a sequence of observations shows (generator.sandbox.replay).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from generator.admission.kueue import quantity
from generator.model.derive import model_namespace
from generator.model.portfolio import Portfolio
from generator.sandbox.box import Box

ISVC_LABEL = "serving.kserve.io/inferenceservice"
STOP_ANNOTATION = "serving.kserve.io/stop"
GATE = "kueue.x-k8s.io/admission"
WORKLOADS = "/apis/kueue.x-k8s.io/v1beta2/workloads"
SERVICES = "/apis/serving.kserve.io/v1beta1/inferenceservices"
SETTLED = ("admitted", "unschedulable", "pending", "off")
PLACED = ("admitted",)  # the states whose pod is bound to a node


@dataclass(frozen=True)
class Live:
    """One model as the box shows it."""

    state: str  # a SETTLED state or a transition (see the module's docstring)
    flavor: str | None = None  # the GPU flavor of its admitted Workload
    node: str | None = None  # the node of its newest pod
    phase: str = "none"  # the newest pod's phase; "Pending (gated)" while Kueue holds it
    ready: str = "none"  # the InferenceService's Ready condition: "True", "False (Stopped)", ...
    stopped: str = "none"
    gpus: int = 0  # GPUs requested by its pods bound to nodes (a rolling update's old pod included)
    pod: str | None = None  # the newest pod's uid
    message: str = ""  # why it waits (Kueue's message) or why no node holds it (the scheduler's)

    @property
    def admission(self) -> str:
        """The state with its flavor, as scenarios write it: `admitted on nvidia-l4-4gpu`."""
        return f"{self.state} on {self.flavor}" if self.flavor and self.state in ("admitted", "unschedulable") else self.state


@dataclass
class View:
    """Every model of the portfolio as the box shows it, and the GPUs bound on each node."""

    models: dict[str, Live]
    gpus_bound: dict[str, int] = field(default_factory=dict)  # node -> GPUs of the unfinished pods bound to it
    terminating: list[str] = field(default_factory=list)  # model pods being deleted

    @property
    def settled(self) -> bool:
        return not self.terminating and all(m.state in SETTLED for m in self.models.values())

    def signature(self) -> tuple[Any, ...]:
        """What must stay the same for the box to count as quiet."""
        return (tuple(sorted((n, m.state, m.flavor, m.node, m.phase, m.gpus, m.pod) for n, m in self.models.items())),
                tuple(sorted(self.gpus_bound.items())), tuple(self.terminating))


def _items(box: Box, path: str, selector: str | None = None) -> list[dict[str, Any]]:
    query = f"?labelSelector={urllib.parse.quote(selector)}" if selector else ""
    status, body = box.request("GET", path + query)
    return list(body.get("items", [])) if status == 200 and isinstance(body, dict) else []


def _condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _true(obj: Mapping[str, Any], kind: str) -> bool:
    return (_condition(obj, kind) or {}).get("status") == "True"


def condition_text(obj: Mapping[str, Any] | None, kind: str) -> str:
    """`True`, `False (Stopped)`, ...; `none` without the object, `no status yet` without the condition."""
    if obj is None:
        return "none"
    condition = _condition(obj, kind)
    if condition is None:
        return "no status yet"
    reason = f" ({condition['reason']})" if condition.get("reason") else ""
    return f"{condition.get('status')}{reason}"


def workload_flavor(workload: Mapping[str, Any], gpu: str) -> str | None:
    """The flavor Kueue assigned to `gpu` in the Workload's admission."""
    for assignment in ((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []:
        flavors = assignment.get("flavors") or {}
        if gpu in flavors:
            return str(flavors[gpu])
    return None


def gated(pod: Mapping[str, Any]) -> bool:
    return any(g.get("name") == GATE for g in (pod.get("spec") or {}).get("schedulingGates") or [])


def pod_gpus(pod: Mapping[str, Any], gpu: str) -> int:
    """The GPUs a pod's containers request (a limit alone is the request)."""
    total = Decimal(0)
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        amount = (resources.get("requests") or {}).get(gpu, (resources.get("limits") or {}).get(gpu))
        total += quantity(str(amount)) if amount is not None else Decimal(0)
    return int(total)


def _bound(pod: Mapping[str, Any]) -> bool:
    """Bound to a node and not finished: what the scheduler counts on the node."""
    return bool((pod.get("spec") or {}).get("nodeName")) and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _phase(pod: Mapping[str, Any]) -> str:
    phase = str((pod.get("status") or {}).get("phase") or "Pending")
    return f"{phase} (gated)" if gated(pod) else phase


def _classify(stopped: bool, service: Mapping[str, Any] | None, pods: list[dict[str, Any]], has_deployment: bool,
              workloads: Mapping[str, dict[str, Any]], gpu: str) -> Live:
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    base = Live("starting", gpus=sum(pod_gpus(p, gpu) for p in pods if _bound(p)),
                ready=condition_text(service, "Ready"), stopped=condition_text(service, "Stopped"))
    if stopped or service is None:
        return replace(base, state="stopping" if pods or has_deployment else "off")
    if not live:
        return base
    newest = max(live, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
    node = (newest.get("spec") or {}).get("nodeName")
    base = replace(base, node=node, phase=_phase(newest), pod=str(newest["metadata"]["uid"]))
    workload = workloads.get(str(newest["metadata"]["uid"]))
    if workload is None:
        return base if gated(newest) else replace(base, state="not queued")
    flavor = workload_flavor(workload, gpu)
    if _true(workload, "Evicted"):
        return replace(base, state="evicted", flavor=flavor)
    if _true(workload, "Admitted"):
        scheduled = _condition(newest, "PodScheduled") or {}
        if node and base.phase == "Running":
            return replace(base, state="admitted", flavor=flavor)
        if not gated(newest) and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
            return replace(base, state="unschedulable", flavor=flavor, message=str(scheduled.get("message", "")))
        return replace(base, state="admitting", flavor=flavor)
    reserved = _condition(workload, "QuotaReserved")
    if reserved is not None and reserved.get("status") == "False":
        return replace(base, state="pending", message=str(reserved.get("message", "")))
    return base if reserved is None else replace(base, state="admitting", flavor=flavor)


def read(box: Box, portfolio: Portfolio) -> View:
    """Every model's live state, from five requests to the API server (pods, Workloads, InferenceServices,
    Deployments), however many models the portfolio has."""
    gpu = portfolio.cluster.gpu_resource
    pods = _items(box, "/api/v1/pods")
    workloads: dict[str, dict[str, Any]] = {}
    for workload in _items(box, WORKLOADS):
        for owner in workload["metadata"].get("ownerReferences") or []:
            if owner.get("kind") == "Pod":
                workloads[str(owner["uid"])] = workload
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in _items(box, SERVICES)}
    deployments = {(d["metadata"]["namespace"], (d["metadata"].get("labels") or {}).get(ISVC_LABEL))
                   for d in _items(box, "/apis/apps/v1/deployments", ISVC_LABEL)}
    by_model: dict[tuple[str, str], list[dict[str, Any]]] = {}
    gpus_bound: dict[str, int] = {}
    for pod in pods:
        model = (pod["metadata"].get("labels") or {}).get(ISVC_LABEL)
        if model:
            by_model.setdefault((pod["metadata"]["namespace"], model), []).append(pod)
        if _bound(pod) and (held := pod_gpus(pod, gpu)):
            node = pod["spec"]["nodeName"]
            gpus_bound[node] = gpus_bound.get(node, 0) + held
    models, terminating = {}, []
    for model in portfolio.models:
        key = (model_namespace(model, portfolio), model.name)
        service = services.get(key)
        annotations = ((service or {}).get("metadata") or {}).get("annotations") or {}
        stopped = str(annotations.get(STOP_ANNOTATION, "")).lower() == "true"
        mine = by_model.get(key, [])
        terminating += [p["metadata"]["name"] for p in mine if p["metadata"].get("deletionTimestamp")]
        models[model.name] = _classify(stopped, service, mine, key in deployments, workloads, gpu)
    return View(models, gpus_bound, sorted(terminating))

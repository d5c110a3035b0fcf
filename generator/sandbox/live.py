"""What the box's controllers did with each model, read from the API server, beside what `plan` says.

Per model: the Kueue Workload of its predictor pod (admitted or not, on which flavor), the pod (its node and
phase), and the InferenceService's Ready and Stopped conditions. A controller the box does not run leaves
its column saying so (`running` names the controllers that run), never a guess.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from generator.admission.plan import Snapshot
from generator.model.derive import model_namespace
from generator.model.portfolio import Portfolio
from generator.sandbox.box import Box

ISVC_LABEL = "serving.kserve.io/inferenceservice"
NOT_RUNNING = {"kueue": "no Kueue in the box", "kserve": "no KServe in the box"}


@dataclass(frozen=True)
class LiveModel:
    name: str
    plan_state: str
    plan_flavor: str | None
    plan_node: str | None
    workload: str  # admitted / pending / evicted / none / why not known
    workload_flavor: str | None
    pod_node: str | None
    pod_phase: str  # Running / Pending / ... / none / why not known
    ready: str  # the InferenceService's Ready condition, or why not known
    stopped: str


def _items(box: Box, path: str, selector: str | None = None) -> list[dict[str, Any]]:
    query = f"?labelSelector={urllib.parse.quote(selector)}" if selector else ""
    status, body = box.request("GET", path + query)
    return list(body.get("items", [])) if status == 200 and isinstance(body, dict) else []


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _workload_state(workload: dict[str, Any]) -> str:
    for kind, state in (("Evicted", "evicted"), ("Admitted", "admitted"), ("QuotaReserved", "quota reserved")):
        condition = _condition(workload, kind)
        if condition and condition.get("status") == "True":
            return state
    return "pending"


def _workload_flavor(workload: dict[str, Any], gpu: str) -> str | None:
    assignments = (((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments")) or []
    for assignment in assignments:
        flavors = assignment.get("flavors") or {}
        if gpu in flavors:
            return str(flavors[gpu])
    return None


def _status(obj: dict[str, Any] | None, kind: str) -> str:
    if obj is None:
        return "none"
    condition = _condition(obj, kind)
    if condition is None:
        return "no status yet"
    reason = f" ({condition['reason']})" if condition.get("reason") else ""
    return f"{condition.get('status')}{reason}"


def observe(box: Box, portfolio: Portfolio, snapshot: Snapshot, running: Collection[str]) -> list[LiveModel]:
    """Each model's live state; `running` names the controllers the box runs (e.g. {"kueue", "kserve"})."""
    gpu = portfolio.cluster.gpu_resource
    result = []
    for model in portfolio.models:
        namespace = model_namespace(model, portfolio)
        planned = snapshot.model(model.name)
        pods = _items(box, f"/api/v1/namespaces/{namespace}/pods", f"{ISVC_LABEL}={model.name}")
        pod = pods[0] if pods else None
        if "kserve" in running:
            pod_node = ((pod or {}).get("spec") or {}).get("nodeName")
            pod_phase = str(((pod or {}).get("status") or {}).get("phase", "Pending")) if pod else "none"
        else:
            pod_node, pod_phase = None, NOT_RUNNING["kserve"]
        workload_state, workload_flavor = NOT_RUNNING["kueue"], None
        if "kueue" in running:
            names = {p["metadata"]["name"] for p in pods}
            owned = [w for w in _items(box, f"/apis/kueue.x-k8s.io/v1beta1/namespaces/{namespace}/workloads")
                     if any(o.get("kind") == "Pod" and o.get("name") in names for o in w["metadata"].get("ownerReferences") or [])]
            workload_state = _workload_state(owned[0]) if owned else "none"
            workload_flavor = _workload_flavor(owned[0], gpu) if owned else None
        if "kserve" in running:
            status, service = box.request("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{model.name}")
            service = service if status == 200 else None
            ready, stopped = _status(service, "Ready"), _status(service, "Stopped")
        else:
            ready = stopped = NOT_RUNNING["kserve"]
        result.append(LiveModel(model.name, planned.state, planned.flavor, planned.node, workload_state, workload_flavor,
                                pod_node, pod_phase, ready, stopped))
    return result


def live_text(models: list[LiveModel]) -> str:
    rows = [["MODEL", "PLAN", "PLAN FLAVOR", "PLAN NODE", "WORKLOAD", "FLAVOR", "POD NODE", "POD", "READY", "STOPPED"]]
    rows += [[m.name, m.plan_state, m.plan_flavor or "-", m.plan_node or "-", m.workload, m.workload_flavor or "-",
              m.pod_node or "-", m.pod_phase, m.ready, m.stopped] for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows) + "\n"


def live_json(models: list[LiveModel]) -> list[dict[str, Any]]:
    return [asdict(m) for m in models]

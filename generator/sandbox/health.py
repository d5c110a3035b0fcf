"""A resource's health as Argo CD assesses it, so the box waits for a sync wave exactly when Argo CD would.

Pinned to the Argo CD that OpenShift GitOps 1.19 ships (v3.1.9, gitops-engine e48120133eec,
pkg/health/health*.go): an object being deleted is Progressing; else a custom check (the `ArgoCD` instance's
`resourceHealthChecks`, Lua) for its group and kind wins; else the built-in check of its kind; else it has no
health, which Argo CD counts as success. The Lua runs as Argo CD's VM runs it (util/lua/lua.go): Lua 5.1, only
the base, table and package libraries and an `os` that has only `time` and `date`, the live object as the
global `obj`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.render.argocd import health_check_entries

HEALTHY, PROGRESSING, SUSPENDED, DEGRADED, UNKNOWN = "Healthy", "Progressing", "Suspended", "Degraded", "Unknown"


@dataclass(frozen=True)
class Health:
    status: str
    message: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.message}" if self.message else self.status


def group_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def custom_checks(documents: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(group, kind) -> Lua, from the `ArgoCD` instances among `documents`."""
    checks = {}
    for doc in documents:
        if doc.get("kind") == "ArgoCD" and group_of(doc) == "argoproj.io":
            for check in (doc.get("spec") or {}).get("resourceHealthChecks") or []:
                checks[(str(check.get("group", "")), str(check["kind"]))] = str(check["check"])
    return checks


def administrator_checks() -> dict[tuple[str, str], str]:
    """The checks the runbook's deploy section merges into the `ArgoCD` instance (the tree ships none: applying a
    partial `ArgoCD` object would replace the instance's whole list)."""
    return custom_checks([{"apiVersion": "argoproj.io/v1beta1", "kind": "ArgoCD",
                           "spec": {"resourceHealthChecks": health_check_entries()}}])


def resource_health(obj: Mapping[str, Any], checks: Mapping[tuple[str, str], str]) -> Health | None:
    """Argo CD's health of the live object `obj`; None for a kind with no health (Argo CD: success)."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Health(PROGRESSING, "Pending deletion")
    lua = checks.get((group_of(obj), str(obj.get("kind"))))
    if lua is not None:
        return lua_health(obj, lua)
    builtin = _BUILTIN.get((group_of(obj), str(obj.get("kind"))))
    return builtin(obj) if builtin else None


def _conditions(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or [])


def _job(obj: Mapping[str, Any]) -> Health:
    failed = complete = suspended = False
    message = fail_message = ""
    for condition in _conditions(obj):
        kind = condition.get("type")
        if kind == "Failed":
            failed = complete = True
            fail_message = str(condition.get("message", ""))
        elif kind == "Complete":
            complete = True
            message = str(condition.get("message", ""))
        elif kind == "Suspended":  # any Suspended condition, even False, counts as complete (gitops-engine's rule)
            complete = True
            message = str(condition.get("message", ""))
            suspended = condition.get("status") == "True"
    if not complete:
        return Health(PROGRESSING, message)
    if failed:
        return Health(DEGRADED, fail_message)
    if suspended:
        return Health(SUSPENDED, fail_message)
    return Health(HEALTHY, message)


def _pvc(obj: Mapping[str, Any]) -> Health:
    phase = (obj.get("status") or {}).get("phase")
    return Health({"Lost": DEGRADED, "Pending": PROGRESSING, "Bound": HEALTHY}.get(str(phase), UNKNOWN))


def _deployment(obj: Mapping[str, Any]) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return Health(SUSPENDED, "Deployment is paused")
    if int((obj.get("metadata") or {}).get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return Health(PROGRESSING, "Waiting for rollout to finish: observed deployment generation less than desired generation")
    progressing = next((c for c in _conditions(obj) if c.get("type") == "Progressing"), None)
    updated, replicas = int(status.get("updatedReplicas", 0)), int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(DEGRADED, f"Deployment {obj['metadata']['name']!r} exceeded its progress deadline")
    if spec.get("replicas") is not None and updated < int(spec["replicas"]):
        return Health(PROGRESSING, f"Waiting for rollout to finish: {updated} out of {spec['replicas']} new replicas have been updated...")
    if replicas > updated:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {replicas - updated} old replicas are pending termination...")
    if available < updated:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...")
    return Health(HEALTHY)


_BUILTIN = {("batch", "Job"): _job, ("", "PersistentVolumeClaim"): _pvc, ("apps", "Deployment"): _deployment}


def lua_health(obj: Mapping[str, Any], script: str) -> Health:
    """Run an Argo CD health script on `obj` in a VM with Argo CD's libraries; a script error is Unknown."""
    import lupa.lua51 as lua51

    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True)
    # Argo CD opens base, table, package and its safe os; strings have no methods without the string library.
    runtime.execute("""
        local time, date = os.time, os.date
        debug.setmetatable("", nil)
        io, debug, string, math, os = nil, nil, nil, nil, {time = time, date = date}
        package.loaded.io, package.loaded.debug, package.loaded.string, package.loaded.math = nil, nil, nil, nil
        package.loaded.os = os
    """)
    runtime.globals().obj = _to_lua(runtime, obj)
    try:
        result = runtime.execute(script)
    except lua51.LuaError as error:
        return Health(UNKNOWN, f"health script failed: {error}")
    if result is None:
        return Health(UNKNOWN, "health script returned nothing")
    return Health(str(result["status"]), str(result["message"] or ""))


def _to_lua(runtime: Any, value: Any) -> Any:
    """As Argo CD's decodeValue: objects and arrays become tables (arrays 1-based, as ipairs wants)."""
    if isinstance(value, Mapping):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    return value

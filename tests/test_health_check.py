"""The Argo CD health check the bootstrap ships, run as Argo CD runs it: Lua, on InferenceService documents
shaped like KServe's status (opendatahub-io/kserve odh-v3.0: conditions Ready, PredictorReady, IngressReady,
Stopped; modelStatus with transitionStatus, states and lastFailureInfo)."""

from __future__ import annotations

from typing import Any

import lupa
import pytest

from conftest import render_named
from generator.render.scripts import script

NAMESPACE = "private-ai"


def _to_lua(runtime: lupa.LuaRuntime, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])  # 1-based, as ipairs wants
    return value


def health(document: dict[str, Any], check: str | None = None) -> tuple[str, str]:
    """(status, message) as Argo CD's Lua VM would compute them: `obj` is the live object."""
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = _to_lua(runtime, document)
    result = runtime.execute(check or script("inferenceservice-health.lua"))
    return str(result["status"]), str(result["message"])


def service(status: dict[str, Any] | None, *, stop: str = "false") -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "devstral-2", "namespace": NAMESPACE,
                     "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment", "serving.kserve.io/stop": stop}},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "vLLM"}}}},
    }
    if status is not None:
        document["status"] = status
    return document


def condition(kind: str, state: str, reason: str = "", message: str = "") -> dict[str, str]:
    found = {"type": kind, "status": state, "lastTransitionTime": "2026-11-29T05:00:00Z"}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


READY = {"conditions": [condition("IngressReady", "True"), condition("PredictorReady", "True"), condition("Ready", "True"),
                        condition("Stopped", "False")],
         "modelStatus": {"transitionStatus": "UpToDate", "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"}},
         "deploymentMode": "RawDeployment"}
# KServe on the stop annotation: status cleared, PredictorReady False (Stopped), Stopped True.
STOPPED = {"conditions": [condition("PredictorReady", "False", "Stopped"), condition("Ready", "False", "Stopped"),
                          condition("Stopped", "True")], "deploymentMode": "RawDeployment"}
# A pod gated by Kueue: the Deployment is not Available, KServe copies its reason; no container ran yet.
WAITING = {"conditions": [condition("IngressReady", "True"),
                          condition("PredictorReady", "False", "MinimumReplicasUnavailable",
                                    "Deployment does not have minimum availability."),
                          condition("Ready", "False", "MinimumReplicasUnavailable",
                                    "Deployment does not have minimum availability."),
                          condition("Stopped", "False")],
           "modelStatus": {"transitionStatus": "InProgress", "states": {"activeModelState": "", "targetModelState": "Pending"}},
           "deploymentMode": "RawDeployment"}
# vLLM exited: the container's termination is recorded as a failed load.
FAILED = {"conditions": [condition("PredictorReady", "False", "MinimumReplicasUnavailable",
                                   "Deployment does not have minimum availability."),
                         condition("Ready", "False", "MinimumReplicasUnavailable"), condition("Stopped", "False")],
          "modelStatus": {"transitionStatus": "BlockedByFailedLoad",
                          "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                          "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "ValueError: unknown quantization",
                                              "exitCode": 1}},
          "deploymentMode": "RawDeployment"}


def test_ready_model_is_healthy_although_stopped_is_false() -> None:
    assert health(service(READY)) == ("Healthy", "Ready")


def test_stopped_model_is_suspended() -> None:
    assert health(service(STOPPED, stop="true")) == ("Suspended", "Stopped (serving.kserve.io/stop): no predictor pod, no GPU")
    # Right after the annotation, before KServe has written the status.
    assert health(service(READY, stop="true"))[0] == "Suspended"


def test_model_waiting_for_quota_is_progressing_with_the_reason_and_where_kueue_says_why() -> None:
    status, message = health(service(WAITING))
    assert status == "Progressing"
    assert "PredictorReady=False (MinimumReplicasUnavailable): Deployment does not have minimum availability." in message
    assert f"oc get workloads -n {NAMESPACE}" in message


def test_failed_model_is_degraded_with_the_failure() -> None:
    status, message = health(service(FAILED))
    assert status == "Degraded"
    assert "ModelLoadFailed" in message and "unknown quantization" in message


def test_no_status_yet_is_progressing() -> None:
    assert health(service(None))[0] == "Progressing"


def test_argo_cd_builtin_check_before_the_fix_reports_a_ready_model_as_progressing() -> None:
    """The bug the shipped check exists for: counting Stopped=False as unhealthy (Argo CD before ed6fe769e6)."""
    old = """
    local hs = {status = "Progressing", message = ""}
    local bad = 0
    for _, c in ipairs(obj.status.conditions) do
      if c.status ~= "True" then bad = bad + 1 end
    end
    if bad == 0 then hs.status = "Healthy" end
    return hs
    """
    assert health(service(READY), old)[0] == "Progressing"
    assert health(service(READY))[0] == "Healthy"


@pytest.mark.parametrize("name", ["default", "minimal", "tiers"])
def test_the_bootstrap_carries_exactly_this_check(name: str) -> None:
    tree = render_named(name)
    [argocd] = [d for docs in tree.values() for d in docs if d["kind"] == "ArgoCD"]
    [check] = argocd["spec"]["resourceHealthChecks"]
    assert check["check"] == script("inferenceservice-health.lua")
    assert health(service(WAITING), check["check"])[0] == "Progressing"

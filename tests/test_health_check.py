"""The InferenceService health check the tree ships, run as Argo CD runs it (tests/argocd_lua.py: Lua 5.1 with only
Argo CD's libraries, `obj` global, the result checked as Argo CD checks it), on InferenceService documents shaped
like KServe's status (opendatahub-io/kserve odh-v3.0: conditions Ready, PredictorReady, IngressReady, Stopped;
modelStatus with transitionStatus, states and lastFailureInfo), and on statuses equivalent to each of Argo CD's
own InferenceService health tests."""

from __future__ import annotations

from typing import Any

import pytest

from argocd_lua import INVALID_STATUS, Health, LuaFailure, argocd_health, globals_of_the_vm
from generator.render.scripts import script

NAMESPACE = "private-ai"
CHECK = script("inferenceservice-health.lua")


def health(document: dict[str, Any], check: str | None = None) -> tuple[str, str]:
    """(status, message) as Argo CD's controller computes them; a result Argo CD would not accept fails the test."""
    result = argocd_health(document, check or CHECK)
    assert result.valid, f"Argo CD would not accept {result}"
    return result.status, result.message


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


def _knative(name: str, *conditions: dict[str, str], transition: str | None = None) -> dict[str, Any]:
    """An InferenceService of another deployment mode (Serverless on Knative, ModelMesh), as Argo CD's tests hold them."""
    status: dict[str, Any] = {"conditions": list(conditions)}
    if transition is not None:
        status["modelStatus"] = {"transitionStatus": transition}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "demo"}, "spec": {"predictor": {"model": {"modelFormat": {"name": "x"}}}},
            "status": status}


WAITING_REVISION = ("RevisionMissing", 'Configuration "chat-predictor" is waiting for a Revision to become ready.')
NO_REVISION = ("RevisionMissing", 'Configuration "chat-predictor" does not have any ready Revision.')
FAILED_REVISION = ("RevisionFailed", 'Revision "chat-predictor-00002" failed with message: container exited.')

# Our own statuses, one for each test of Argo CD's InferenceService health check (resource_customizations/
# serving.kserve.io/InferenceService/health_test.yaml at ed6fe769e6 and in v3.1.x and v3.2.x), with the same conditions,
# condition states and model transition, and the status Argo CD's tests expect.
ARGO_CD_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "progressing (Knative)": (_knative(
        "chat", condition("PredictorConfigurationReady", "Unknown"),
        condition("PredictorReady", "Unknown", *WAITING_REVISION), condition("PredictorRouteReady", "Unknown", *WAITING_REVISION),
        condition("Ready", "Unknown", *WAITING_REVISION)), "Progressing"),
    "progressing (Knative on OpenShift)": (_knative(
        "chat", condition("LatestDeploymentReady", "Unknown", "PredictorConfigurationReady not ready"),
        condition("PredictorConfigurationReady", "Unknown"), condition("PredictorReady", "Unknown", *WAITING_REVISION),
        condition("PredictorRouteReady", "Unknown", *WAITING_REVISION), condition("Ready", "Unknown", *WAITING_REVISION),
        condition("RoutesReady", "Unknown", "PredictorRouteReady not ready"), transition="InProgress"), "Progressing"),
    "progressing (ModelMesh)": (_knative(
        "chat", condition("PredictorReady", "False"), condition("Ready", "False"), transition="InProgress"), "Progressing"),
    "degraded (Knative)": (_knative(
        "chat", condition("IngressReady", "False", "Predictor ingress not created"),
        condition("PredictorConfigurationReady", "False", *FAILED_REVISION), condition("PredictorReady", "False", *FAILED_REVISION),
        condition("PredictorRouteReady", "True"), condition("Ready", "False", "Predictor ingress not created"),
        transition="BlockedByFailedLoad"), "Degraded"),
    "degraded (Knative on OpenShift)": (_knative(
        "chat", condition("LatestDeploymentReady", "False", "PredictorConfigurationReady not ready"),
        condition("PredictorConfigurationReady", "False", *FAILED_REVISION), condition("PredictorReady", "False", *NO_REVISION),
        condition("PredictorRouteReady", "False", *NO_REVISION), condition("Ready", "False", *NO_REVISION),
        condition("RoutesReady", "False", "PredictorRouteReady not ready"), transition="BlockedByFailedLoad"), "Degraded"),
    # Ready, yet the model failed to load: the model's own state wins.
    "degraded (ModelMesh)": (_knative(
        "chat", condition("PredictorReady", "True"), condition("Ready", "True"), transition="BlockedByFailedLoad"), "Degraded"),
    "stopped": (_knative(
        "chat", condition("PredictorReady", "False", "Stopped"), condition("Ready", "False", "Stopped"),
        condition("Stopped", "True")), "Suspended"),
    "healthy (Knative)": (_knative(
        "chat", condition("IngressReady", "True"), condition("PredictorConfigurationReady", "True"),
        condition("PredictorReady", "True"), condition("PredictorRouteReady", "True"), condition("Ready", "True"),
        condition("Stopped", "False")), "Healthy"),
    "healthy (Knative on OpenShift)": (_knative(
        "chat", condition("IngressReady", "True"), condition("LatestDeploymentReady", "True"),
        condition("PredictorConfigurationReady", "True"), condition("PredictorReady", "True"),
        condition("PredictorRouteReady", "True"), condition("Ready", "True"), condition("RoutesReady", "True"),
        condition("Stopped", "False"), transition="UpToDate"), "Healthy"),
    "healthy (ModelMesh)": (_knative(
        "chat", condition("PredictorReady", "True"), condition("Ready", "True"), transition="UpToDate"), "Healthy"),
    "healthy (RawDeployment)": (_knative(
        "chat", condition("IngressReady", "True"), condition("PredictorReady", "True"), condition("Ready", "True"),
        condition("Stopped", "False")), "Healthy"),
}


@pytest.mark.parametrize("case", sorted(ARGO_CD_CASES))
def test_every_status_argo_cds_own_tests_expect(case: str) -> None:
    document, expected = ARGO_CD_CASES[case]
    assert health(document)[0] == expected


def test_the_check_uses_only_what_argo_cds_vm_offers() -> None:
    """No string, math, io or os library, no string methods; obj is the one object it reads."""
    names = globals_of_the_vm()
    assert {"string", "math", "io", "os", "debug", "coroutine"}.isdisjoint(names)
    assert {"ipairs", "pairs", "table", "package", "require", "tostring"} <= names
    with pytest.raises(LuaFailure, match="attempt to index"):
        argocd_health({}, 'return {status = ("x"):upper()}')
    with pytest.raises(LuaFailure, match="string"):
        argocd_health({}, 'return {status = string.format("%s", "Healthy")}')
    # os.time and os.date only, through require (Argo CD registers no global os)
    assert argocd_health({}, 'local os = require("os"); return {status = os.time and "Healthy" or "Degraded"}').status == "Healthy"


def test_a_result_argo_cd_refuses_is_caught() -> None:
    assert argocd_health({}, 'return {status = "Ready"}') == Health("Unknown", INVALID_STATUS)
    assert not argocd_health({}, 'return {status = "Healthy", message = 42}').valid  # a number where text belongs
    assert not argocd_health({}, "return {}").valid
    with pytest.raises(LuaFailure, match="table output"):
        argocd_health({}, 'return "Healthy"')


def test_obj_is_the_live_object_with_one_based_lists() -> None:
    document = {"status": {"conditions": [{"type": "A"}, {"type": "B"}]}, "spec": {"replicas": 2}}
    check = 'return {status = "Healthy", message = obj.status.conditions[2].type .. obj.spec.replicas}'
    assert argocd_health(document, check) == Health("Healthy", "B2")

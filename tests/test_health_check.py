"""The InferenceService health check the tree ships, run as Argo CD runs it (tests/argocd_lua.py: Lua 5.1 with only
Argo CD's libraries, `obj` global, the result checked as Argo CD checks it), on InferenceService documents shaped
like KServe's status (opendatahub-io/kserve odh-v3.0: conditions Ready, PredictorReady, IngressReady, Stopped;
modelStatus with transitionStatus, states and lastFailureInfo), and on statuses equivalent to each of Argo CD's
own InferenceService health tests."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from argocd_lua import INVALID_STATUS, Health, LuaFailure, argocd_health, globals_of_the_vm
from conftest import load_named
from generator.admission.scenarios import run_all
from generator.render.argocd import health_check_entries
from generator.render.scripts import script
from generator.runbook import build_runbook
from generator.runbook.formats import _shell_line

NAMESPACE = "private-ai"
CHECK = script("inferenceservice-health.lua")
JOB_CHECK = script("job-health.lua")


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


# A stand-in for `oc` holding one ArgoCD object in a JSON file: it answers the three jsonpath queries the runbook
# asks and applies JSON patches (add, remove, test) as the API server does, failing on a failed test or a missing path.
FAKE_OC = r"""#!/usr/bin/env python3
import json, os, sys
path = os.environ["FAKE_ARGOCD"]
obj = json.load(open(path))
args = sys.argv[1:]
checks = obj["spec"].get("resourceHealthChecks")
if args[0] == "get":
    query = next(a for a in args if a.startswith("jsonpath="))[len("jsonpath="):]
    if query == "{.spec.resourceHealthChecks}":
        print(json.dumps(checks) if checks is not None else "", end="")
    elif query == '{range .spec.resourceHealthChecks[*]}{.group}/{.kind}{"\\n"}{end}':
        print("".join(f"{c['group']}/{c['kind']}\n" for c in checks or []), end="")
    elif query == "{.spec.resourceHealthChecks[*].kind}":
        print(" ".join(c["kind"] for c in checks or []), end="")
    else:
        sys.exit(f"unexpected query {query}")
elif args[0] == "patch":
    assert "--type=json" in args
    for op in json.loads(args[args.index("-p") + 1]):
        *parents, last = op["path"].strip("/").split("/")
        target = obj
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        key = int(last) if isinstance(target, list) and last != "-" else last
        if op["op"] == "test":
            if target[key] != op["value"]:
                sys.exit("test failed")
        elif op["op"] == "remove":
            del target[key]
        elif op["op"] == "add" and isinstance(target, list):
            target.insert(len(target) if last == "-" else int(last), op["value"])
        elif op["op"] == "add":
            target[last] = op["value"]
    json.dump(obj, open(path, "w"))
else:
    sys.exit(f"unexpected oc {args}")
"""


def _merge_commands() -> list[str]:
    loaded = load_named("default")
    sections = build_runbook(loaded.portfolio, loaded.tree, run_all(loaded.portfolio, loaded.tree), only="deploy")
    [block] = [b for s in sections for b in s.blocks if b.text.startswith("Argo CD's health checks for InferenceServices and Jobs")]
    return [_shell_line(c) for c in block.commands]


def _merge(tmp_path: Path, checks: list[dict[str, str]] | None, *, runs: int = 1) -> list[dict[str, str]]:
    """The runbook's merge step run by bash against an ArgoCD object holding `checks` (None: no list at all)."""
    oc = tmp_path / "bin" / "oc"
    oc.parent.mkdir(exist_ok=True)
    oc.write_text(FAKE_OC, encoding="utf-8")
    oc.chmod(oc.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "argocd.json"
    spec: dict[str, Any] = {"server": {"route": {"enabled": True}}}
    if checks is not None:
        spec["resourceHealthChecks"] = checks
    state.write_text(json.dumps({"apiVersion": "argoproj.io/v1beta1", "kind": "ArgoCD", "spec": spec}), encoding="utf-8")
    script_text = "set -euo pipefail\n" + "\n".join(_merge_commands() * runs) + "\n"
    env = {**os.environ, "PATH": f"{oc.parent}:{os.environ['PATH']}", "FAKE_ARGOCD": str(state)}
    result = subprocess.run(["bash", "-c", script_text], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    after = json.loads(state.read_text(encoding="utf-8"))["spec"]
    assert after["server"] == {"route": {"enabled": True}}  # nothing else of the instance is touched
    return list(after["resourceHealthChecks"])


ROLLOUT = {"group": "argoproj.io", "kind": "Rollout", "check": "return {status = 'Healthy'}"}
CERTIFICATE = {"group": "cert-manager.io", "kind": "Certificate", "check": "return {status = 'Progressing'}"}


def test_the_merge_keeps_every_other_check_and_adds_ours_once(tmp_path: Path) -> None:
    ours = health_check_entries()
    assert [(e["kind"], e["check"]) for e in ours] == [("InferenceService", CHECK), ("Job", JOB_CHECK)]
    assert _merge(tmp_path, None) == ours  # an instance with no list gets one
    assert _merge(tmp_path, []) == ours
    assert _merge(tmp_path, [ROLLOUT, CERTIFICATE]) == [ROLLOUT, CERTIFICATE, *ours]
    # run again (a second bootstrap, a newer generator): still one check per kind, the others untouched
    assert _merge(tmp_path, [ROLLOUT, CERTIFICATE], runs=3) == [ROLLOUT, CERTIFICATE, *ours]
    older = [{**e, "check": "return {status = 'Healthy'}"} for e in ours]
    assert _merge(tmp_path, [older[1], ROLLOUT, older[0], CERTIFICATE]) == [ROLLOUT, CERTIFICATE, *ours]


def test_the_bootstrap_no_longer_replaces_the_instance() -> None:
    """Applying a partial ArgoCD object replaces its whole list: the tree holds none."""
    tree = load_named("default").tree
    assert not [d for docs in tree.values() for d in docs if d.get("kind") == "ArgoCD"]


def _job(*conditions: tuple[str, str, str], queue: str | None = "default") -> dict[str, Any]:
    labels = {"kueue.x-k8s.io/queue-name": queue} if queue else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "upload-x", "namespace": NAMESPACE, "labels": labels},
            "status": {"conditions": [{"type": t, "status": s, "message": m} for t, s, m in conditions]}}


@pytest.mark.parametrize(("job", "expected"), [
    (_job(), ("Progressing", "Waiting for the Job to complete")),
    # Kueue created it suspended: the wave waits for the admission instead of going on
    (_job(("Suspended", "True", "Job suspended")), ("Progressing", "Waiting for Kueue to admit the Job (default)")),
    # admitted and running: Argo CD's own check calls it Healthy here (any Suspended condition counts as complete)
    (_job(("Suspended", "False", "Job resumed")), ("Progressing", "Waiting for the Job to complete")),
    (_job(("Suspended", "False", "Job resumed"), ("Complete", "True", "Reached expected number of succeeded pods")),
     ("Healthy", "Reached expected number of succeeded pods")),
    (_job(("Suspended", "False", "Job resumed"), ("FailureTarget", "True", "deadline"),
          ("Failed", "True", "Job was active longer than specified deadline")),
     ("Degraded", "Job was active longer than specified deadline")),
    # a Job suspended by its own spec, outside Kueue, stays Suspended as Argo CD's check says
    (_job(("Suspended", "True", "Job suspended"), queue=None), ("Suspended", "Job suspended")),
])
def test_a_job_is_healthy_only_once_complete(job: dict[str, Any], expected: tuple[str, str]) -> None:
    assert health(job, JOB_CHECK) == expected

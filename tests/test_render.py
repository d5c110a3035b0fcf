"""The rendered tree honours the FACTS conventions and cannot repeat the original's defects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import DEMO, VALID, load_named, render_named
from generator.model.derive import storage_uri
from generator.pipeline import prepare
from generator.render.common import SYNC_WAVE, Tree

ALL = ["default", *VALID]


def documents(tree: Tree) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, docs in tree.items():
        for doc in docs:
            yield path, doc


def of_kind(tree: Tree, kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents(tree) if doc["kind"] == kind]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", spec)
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def isvc(tree: Tree, name: str) -> dict[str, Any]:
    [found] = [d for d in of_kind(tree, "InferenceService") if d["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def default_tree() -> Tree:
    return render_named("default")


def test_default_tree_has_the_documented_layout(default_tree: Tree) -> None:
    base = "gitops/step-05-llm-on-vllm/base"
    assert set(default_tree) == {
        "gitops/argocd/app-of-apps/kustomization.yaml",
        "gitops/argocd/app-of-apps/step-05-llm-on-vllm.yaml",
        "gitops/argocd/bootstrap/kustomization.yaml",
        "gitops/argocd/bootstrap/app-of-apps.yaml",
        "gitops/argocd/bootstrap/app-project.yaml",
        "gitops/argocd/bootstrap/argocd-controller-rbac.yaml",
        f"{base}/kustomization.yaml",
        *(f"{base}/kueue/{f}" for f in ("kustomization.yaml", "resource-flavors.yaml", "cluster-queue.yaml", "local-queue.yaml")),
        *(f"{base}/serving-runtime/{f}" for f in ("kustomization.yaml", "vllm-runtime.yaml")),
        *(f"{base}/inference/{m}.yaml" for m in ("kustomization", "mistral-3-bf16", "mistral-3-int4", "devstral-2",
                                                   "gpt-oss-20b", "granite-8b-agent")),
        *(f"{base}/model-access/{f}.yaml" for f in ("kustomization", "model-server", "callers", "mistral-3-bf16", "mistral-3-int4",
                                                      "devstral-2", "gpt-oss-20b", "granite-8b-agent")),
        *(f"{base}/model-upload/{f}.yaml" for f in ("kustomization", "service-account", "uploader-script", "upload-mistral-small-24b",
                                                      "upload-gpt-oss-20b", "upload-granite-3-1-8b-instruct-fp8")),
        *(f"{base}/model-registration/{f}.yaml" for f in ("kustomization", "service-account", "registration-config",
                                                            "register-models")),
    }


# Defect 1: MinIO keys written as literal values into every upload Job.
@pytest.mark.parametrize("name", ALL)
def test_credentials_only_through_secret_refs(name: str) -> None:
    tree = render_named(name)
    secretish = re.compile(r"KEY|SECRET|TOKEN|PASSWORD", re.IGNORECASE)
    checked = 0
    for _, doc in documents(tree):
        assert doc["kind"] != "Secret"
        for container in containers(doc):
            for env in container.get("env", []):
                if secretish.search(env["name"]):
                    checked += 1
                    assert "value" not in env, f"{env['name']} carries a literal value"
                    assert "secretKeyRef" in env["valueFrom"]
    if name != "minimal":  # the minimal portfolio has no S3 upload
        assert checked >= 3


# Defect 2: the promised Recreate strategy was missing.
@pytest.mark.parametrize("name", ALL)
def test_every_inference_service_uses_recreate(name: str) -> None:
    services = of_kind(render_named(name), "InferenceService")
    assert services
    assert {s["spec"]["predictor"]["deploymentStrategy"]["type"] for s in services} == {"Recreate"}


# Defect 3: the OCI model was registered as s3://models/oci://...
@pytest.mark.parametrize("name", ALL)
def test_registration_uses_the_real_storage_uri(name: str) -> None:
    tree = render_named(name)
    configs = [d for d in of_kind(tree, "ConfigMap") if "models.json" in d.get("data", {})]
    registered = {entry["name"]: entry["uri"] for config in configs for entry in json.loads(config["data"]["models.json"])}
    services = of_kind(tree, "InferenceService")
    served = {s["metadata"]["name"]: s["spec"]["predictor"]["model"]["storageUri"] for s in services}
    assert registered == served
    # with teams each team registers its own models, from its own namespace
    where = {s["metadata"]["name"]: s["metadata"]["namespace"] for s in services}
    for config in configs if len(configs) > 1 else []:
        assert {where[e["name"]] for e in json.loads(config["data"]["models.json"])} == {config["metadata"]["namespace"]}
    for uri in registered.values():
        assert re.match(r"^(oci://(?!.*s3://)|s3://(?!.*oci://))", uri), uri


def test_default_oci_model_is_registered_as_oci(default_tree: Tree) -> None:
    assert isvc(default_tree, "mistral-3-int4")["spec"]["predictor"]["model"]["storageUri"] == (
        "oci://registry.redhat.io/rhelai1/modelcar-mistral-small-24b-instruct-2501-quantized-w4a16:1.5")


# Defect 5: a copied script per Job, pip install at run time, floating images.
@pytest.mark.parametrize("name", ALL)
def test_jobs_share_one_script_and_pinned_images(name: str) -> None:
    tree = render_named(name)
    text = json.dumps(tree)
    assert "pip install" not in text
    for _, doc in documents(tree):
        for container in containers(doc):
            assert re.search(r"@sha256:[0-9a-f]{64}$", container["image"]), container["image"]
    jobs = [j for j in of_kind(tree, "Job") if j["metadata"]["name"].startswith("upload-")]
    scripts = {c["metadata"]["namespace"]: c for c in of_kind(tree, "ConfigMap") if "upload.py" in c.get("data", {})}
    # one script per namespace that runs uploads (with teams, each team's), the same text everywhere
    assert set(scripts) == {j["metadata"]["namespace"] for j in jobs}
    assert len({c["data"]["upload.py"] for c in scripts.values()}) <= 1
    for job in jobs:
        volumes = job["spec"]["template"]["spec"]["volumes"]
        assert {"name": "uploader", "configMap": {"name": scripts[job["metadata"]["namespace"]]["metadata"]["name"]}} in volumes
        assert "import" not in json.dumps(job)


# Defect 6: "already registered" decided by grepping a JSON page; ids parsed with sed.
def test_registration_script_parses_json_and_looks_up_exact_names(default_tree: Tree) -> None:
    [config] = [d for d in of_kind(default_tree, "ConfigMap") if "register.py" in d.get("data", {})]
    script = config["data"]["register.py"]
    assert "json.load" in script
    assert not re.search(r"\b(grep|sed|awk)\b", script)
    assert 'query("/registered_model", name=name)' in script


def serving_waves(tree: Tree) -> dict[str, set[int]]:
    """Component folder of the serving tree (its base, or the platform's and each team's) -> its documents' waves."""
    waves: dict[str, set[int]] = {}
    for path, doc in documents(tree):
        if path.startswith("gitops/argocd/") or doc["kind"] == "Kustomization" or "/support/" in path:
            continue  # a team's support Application (volumes, callers) is applied in one wave
        waves.setdefault(path.split("/")[-2], set()).add(int(doc["metadata"]["annotations"][SYNC_WAVE]))
    return waves


# Defect 7: uploads and registration in one wave; the LocalQueue after the models that need it.
@pytest.mark.parametrize("name", ALL)
def test_sync_waves_order_the_components(name: str) -> None:
    waves = serving_waves(render_named(name))
    assert all(len(w) == 1 for w in waves.values())
    wave = {folder: next(iter(w)) for folder, w in waves.items()}
    assert wave["kueue"] < wave.get("model-upload", 1) < wave["serving-runtime"] < wave["inference"]
    assert wave.get("model-upload", 1) < wave["model-registration"] < wave["inference"]


# Live lesson: Argo CD waits for a wave's health before the next; a model waiting for quota is not Ready.
@pytest.mark.parametrize("name", ALL)
def test_nothing_waits_on_an_inference_service(name: str) -> None:
    tree = render_named(name)
    waves = serving_waves(tree)
    last = max(w for ws in waves.values() for w in ws)
    assert waves["inference"] == {last}
    assert all(last not in ws for folder, ws in waves.items() if folder != "inference")
    for app in of_kind(tree, "Application"):  # PruneLast prunes in a wave after the last one
        assert not any(o.startswith("PruneLast") for o in app["spec"]["syncPolicy"]["syncOptions"])
    # No sync hooks (they can hang a sync) and no TTL on Jobs (a Job deleted by a TTL shows as Missing).
    assert not any("argocd.argoproj.io/hook" in ((d.get("metadata") or {}).get("annotations") or {}) for _, d in documents(tree))
    assert not any("ttlSecondsAfterFinished" in job["spec"] for job in of_kind(tree, "Job"))


def test_inference_service_conventions(default_tree: Tree) -> None:
    service = isvc(default_tree, "mistral-3-bf16")
    meta, predictor = service["metadata"], service["spec"]["predictor"]
    assert meta["labels"]["kueue.x-k8s.io/queue-name"] == "default"
    assert meta["labels"]["opendatahub.io/dashboard"] == "true"
    assert meta["annotations"]["opendatahub.io/hardware-profile-name"] == "nvidia-l4-4gpu"
    assert meta["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 1)
    assert predictor["model"]["storage"] == {"key": "minio-connection"}
    assert predictor["model"]["storageUri"] == "s3://models/mistral-small-24b/"
    assert predictor["model"]["resources"]["limits"] == {"cpu": "32", "memory": "128Gi", "nvidia.com/gpu": "4"}
    assert {"name": "VLLM_USE_V1", "value": "1"} in predictor["model"]["env"]


@pytest.mark.parametrize(("model", "expected"), [
    ("mistral-3-bf16", ["--served-model-name=mistral-3-bf16", "--tensor-parallel-size=4", "--dtype=bfloat16",
                        "--max-model-len=32768", "--gpu-memory-utilization=0.9", "--trust-remote-code",
                        "--tool-call-parser=mistral", "--enable-auto-tool-choice"]),
    ("mistral-3-int4", ["--served-model-name=mistral-3-int4", "--max-model-len=16384",
                        "--gpu-memory-utilization=0.9", "--trust-remote-code", "--tool-call-parser=mistral",
                        "--enable-auto-tool-choice"]),
    ("granite-8b-agent", ["--served-model-name=granite-8b-agent", "--max-model-len=16384",
                          "--gpu-memory-utilization=0.9", "--trust-remote-code", "--tool-call-parser=granite",
                          "--enable-auto-tool-choice",
                          "--chat-template=/opt/app-root/template/tool_chat_template_granite.jinja"]),
])
def test_vllm_args_follow_the_facts(default_tree: Tree, model: str, expected: list[str]) -> None:
    assert isvc(default_tree, model)["spec"]["predictor"]["model"]["args"] == expected


# Live lesson: minReplicas 0 still runs one pod (the HPA raises the floor to 1); off is declared by the stop annotation.
def test_queued_models_are_stopped_and_active_ones_run(default_tree: Tree) -> None:
    services = {s["metadata"]["name"]: s for s in of_kind(default_tree, "InferenceService")}
    stop = {name: s["metadata"]["annotations"]["serving.kserve.io/stop"] for name, s in services.items()}
    assert stop == {"mistral-3-bf16": "false", "mistral-3-int4": "false", "devstral-2": "true", "gpt-oss-20b": "true",
                    "granite-8b-agent": "true"}
    assert {s["spec"]["predictor"]["minReplicas"] for s in services.values()} == {1}
    assert all("autoscalerClass" not in json.dumps(s["metadata"]) for s in services.values())


def test_the_runtime_carries_both_dashboard_template_annotations(default_tree: Tree) -> None:
    [runtime] = of_kind(default_tree, "ServingRuntime")
    annotations = runtime["metadata"]["annotations"]
    assert annotations["opendatahub.io/template-name"] == "vllm-cuda-runtime"
    assert annotations["opendatahub.io/template-display-name"] == "vLLM NVIDIA GPU ServingRuntime for KServe"


def test_placement_pins_only_models_that_fit_one_flavor(default_tree: Tree) -> None:
    selectors = {s["metadata"]["name"]: s["spec"]["predictor"].get("nodeSelector") for s in of_kind(default_tree, "InferenceService")}
    four = {"node.kubernetes.io/instance-type": "g6.12xlarge"}
    # 1-GPU models fit both flavors: Kueue places them (scenario 2 needs the 4-GPU node open to them).
    assert selectors == {"mistral-3-bf16": four, "devstral-2": four, "gpt-oss-20b": four,
                         "mistral-3-int4": None, "granite-8b-agent": None}


def test_explicit_flavor_pin_is_honoured() -> None:
    tree = render_named("tiers")
    predictor = isvc(tree, "oci-forced-s3")["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.12xlarge"}
    assert isvc(tree, "small-oci")["spec"]["predictor"].get("nodeSelector") is None


def test_storage_tiers_of_the_tiers_fixture() -> None:
    loaded = load_named("tiers")
    uris = {m.name: storage_uri(m, loaded.portfolio) for m in loaded.portfolio.models}
    assert uris == {
        "small-oci": "oci://quay.io/example/modelcar-small:2.0",
        "large-hf": "s3://weights/large-model-13b/",
        "large-twin": "s3://weights/large-model-13b/",
        "oci-forced-s3": "s3://weights/team-a/mid-7b/",
        "prefilled": "s3://weights/mirrored/embedder/",
    }
    tree = render_named("tiers")
    assert "storage" not in isvc(tree, "small-oci")["spec"]["predictor"]["model"]
    assert isvc(tree, "prefilled")["spec"]["predictor"]["model"]["storage"] == {"key": "weights-connection"}


def test_one_upload_per_distinct_s3_weights(default_tree: Tree) -> None:
    jobs = {j["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]: j
            for j in of_kind(default_tree, "Job") if j["metadata"]["name"].startswith("upload-")}
    assert sorted(jobs) == ["upload-gpt-oss-20b", "upload-granite-3-1-8b-instruct-fp8", "upload-mistral-small-24b"]
    for claim, job in jobs.items():  # the Job's name is its volume's plus a hash of its input
        assert re.fullmatch(rf"{claim}-[0-9a-f]{{8}}", job["metadata"]["name"])
    shared = jobs["upload-mistral-small-24b"]["metadata"]["annotations"]["gpuaas.opendatahub.io/models"]
    assert shared == "mistral-3-bf16,devstral-2"
    # Only the files vLLM loads are downloaded: the weights plus a fifth, in GiB, rounded up to 10Gi.
    claims = {c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"] for c in of_kind(default_tree, "PersistentVolumeClaim")}
    assert claims == {"upload-mistral-small-24b": "60Gi", "upload-gpt-oss-20b": "50Gi",
                      "upload-granite-3-1-8b-instruct-fp8": "10Gi"}


# Live lesson: a plain Job runs once; a changed input needs a new name (and Argo CD prunes the old one).
def test_registration_job_is_renamed_when_the_model_list_changes(tmp_path: Path) -> None:
    from conftest import load_text

    text = DEMO.read_text(encoding="utf-8")

    def job_names(portfolio_text: str, folder: str) -> list[str]:
        (tmp_path / folder).mkdir()
        tree = load_text(tmp_path / folder, portfolio_text).tree
        return [j["metadata"]["name"] for j in of_kind(tree, "Job") if j["metadata"]["namespace"] == "rhoai-model-registries"]

    [same] = job_names(text, "a")
    assert job_names(text, "b") == [same] and re.fullmatch(r"register-models-[0-9a-f]{8}", same)
    [changed] = job_names(text.replace("maxModelLen: 8192", "maxModelLen: 4096"), "c")
    gpt = text[text.index("  - name: gpt-oss-20b"):text.index("  - name: granite-8b-agent")]
    stories = text.index("# The demo's stories")
    [added] = job_names(text[:stories] + gpt.replace("name: gpt-oss-20b", "name: gpt-oss-20b-b") + text[stories:], "d")
    assert len({same, changed, added}) == 3


def test_upload_jobs_run_restricted_with_deadline_and_retries(default_tree: Tree) -> None:
    for job in of_kind(default_tree, "Job"):
        spec = job["spec"]
        assert spec["activeDeadlineSeconds"] > 0 and spec["backoffLimit"] >= 1
        pod = spec["template"]["spec"]
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


# Live lessons: a CPU flavor in its own resource group; node labels nodes really carry; no default queue.
def test_kueue_objects(default_tree: Tree) -> None:
    [queue] = of_kind(default_tree, "ClusterQueue")
    cpu_group, gpu_group = queue["spec"]["resourceGroups"]
    assert queue["apiVersion"] == "kueue.x-k8s.io/v1beta1"
    assert cpu_group == {"coveredResources": ["cpu", "memory"], "flavors": [{"name": "default-flavor", "resources": [
        {"name": "cpu", "nominalQuota": "64"}, {"name": "memory", "nominalQuota": "256Gi"}]}]}
    assert gpu_group["coveredResources"] == ["nvidia.com/gpu"]
    assert [(f["name"], f["resources"]) for f in gpu_group["flavors"]] == [
        ("nvidia-l4-1gpu", [{"name": "nvidia.com/gpu", "nominalQuota": "1"}]),
        ("nvidia-l4-4gpu", [{"name": "nvidia.com/gpu", "nominalQuota": "4"}])]
    flavors = {f["metadata"]["name"]: f["spec"] for f in of_kind(default_tree, "ResourceFlavor")}
    assert flavors["default-flavor"] == {}
    assert flavors["nvidia-l4-1gpu"]["nodeLabels"] == {"node.kubernetes.io/instance-type": "g6.4xlarge"}
    [local] = of_kind(default_tree, "LocalQueue")
    assert local["metadata"]["namespace"] == "private-ai" and local["spec"] == {"clusterQueue": "rhoai-main-queue"}
    assert "kueue.x-k8s.io/default-queue" not in local["metadata"]["annotations"]
    for doc in [queue, local, *of_kind(default_tree, "ResourceFlavor")]:
        assert doc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "SkipDryRunOnMissingResource=true"


def test_bootstrap_grants_the_controller_least_privilege(default_tree: Tree) -> None:
    [role] = of_kind(default_tree, "ClusterRole")
    assert role["rules"] == [{"apiGroups": ["kueue.x-k8s.io"], "resources": ["clusterqueues", "resourceflavors"],
                              "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
    [binding] = of_kind(default_tree, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "openshift-gitops-argocd-application-controller",
                                    "namespace": "openshift-gitops"}]


def test_priority_classes_widen_the_controller_role_exactly() -> None:
    [role] = of_kind(render_named("tiers"), "ClusterRole")
    assert role["rules"][0]["resources"] == ["clusterqueues", "resourceflavors", "workloadpriorityclasses"]


def test_live_toggle_makes_argo_cd_ignore_exactly_the_stop_annotation(tmp_path: Path) -> None:
    from conftest import load_text

    default_app = next(a for a in of_kind(render_named("default"), "Application") if a["metadata"]["name"] == "step-05-llm-on-vllm")
    assert "ignoreDifferences" not in default_app["spec"]
    assert "RespectIgnoreDifferences=true" not in default_app["spec"]["syncPolicy"]["syncOptions"]
    text = DEMO.read_text(encoding="utf-8").replace("  destinationServer: https://kubernetes.default.svc\n",
                                                     "  destinationServer: https://kubernetes.default.svc\n  liveToggle: true\n")
    tree = load_text(tmp_path, text).tree
    app = next(a for a in of_kind(tree, "Application") if a["metadata"]["name"] == "step-05-llm-on-vllm")
    assert app["spec"]["ignoreDifferences"] == [{"group": "serving.kserve.io", "kind": "InferenceService",
                                                 "jsonPointers": ["/metadata/annotations/serving.kserve.io~1stop"]}]
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    root = next(a for a in of_kind(tree, "Application") if a["metadata"]["name"] == "app-of-apps")
    assert "ignoreDifferences" not in root["spec"]


def test_argocd_application(default_tree: Tree) -> None:
    [app, root] = of_kind(default_tree, "Application")
    assert root["metadata"]["name"] == "app-of-apps"
    assert root["spec"]["source"]["path"] == "gitops/argocd/app-of-apps"
    assert root["spec"]["destination"]["namespace"] == "openshift-gitops"
    assert app["metadata"] == {"name": "step-05-llm-on-vllm", "namespace": "openshift-gitops",
                               "labels": {"app.kubernetes.io/managed-by": "gpuaas-generator"}}
    assert app["spec"]["source"]["path"] == "gitops/step-05-llm-on-vllm/base"
    assert app["spec"]["syncPolicy"]["retry"] == {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}


@pytest.mark.parametrize(("written", "stored"), [
    ("whenCanBorrow: Borrow", {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "TryNextFlavor"}),
    ("whenCanBorrow: MayStopSearch", {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "TryNextFlavor"}),
    ("whenCanBorrow: TryNextFlavor\n    whenCanPreempt: Preempt", {"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "MayStopSearch"}),
])
def test_flavor_fungibility_is_written_as_kueue_stores_it(written: str, stored: dict[str, str], tmp_path: Path) -> None:
    """Kueue v0.15+ converts Borrow and Preempt one way to MayStopSearch: a tree that wrote them would never be in sync
    (seen on the box: Argo CD re-applied the ClusterQueue forever)."""
    text = DEMO.read_text(encoding="utf-8")
    given = "    whenCanBorrow: Borrow\n    whenCanPreempt: TryNextFlavor\n"
    assert given in text
    (tmp_path / "portfolio.yaml").write_text(text.replace(given, f"    {written}\n"), encoding="utf-8")
    tree = prepare(tmp_path / "portfolio.yaml").tree
    [queue] = [d for docs in tree.values() for d in docs if d["kind"] == "ClusterQueue"]
    assert queue["spec"]["flavorFungibility"] == stored

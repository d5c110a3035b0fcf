"""The rendered tree honours the FACTS conventions and cannot repeat the original's defects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import VALID, load_named, render_named
from generator.model.derive import storage_uri
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
        f"{base}/kustomization.yaml",
        *(f"{base}/kueue/{f}" for f in ("kustomization.yaml", "resource-flavors.yaml", "cluster-queue.yaml", "local-queue.yaml")),
        *(f"{base}/serving-runtime/{f}" for f in ("kustomization.yaml", "vllm-runtime.yaml")),
        *(f"{base}/inference/{m}.yaml" for m in ("kustomization", "mistral-3-bf16", "mistral-3-int4", "devstral-2",
                                                   "gpt-oss-20b", "granite-8b-agent")),
        *(f"{base}/model-upload/{f}.yaml" for f in ("kustomization", "uploader-script", "upload-mistral-small-24b",
                                                      "upload-gpt-oss-20b", "upload-granite-3-1-8b-instruct-fp8")),
        *(f"{base}/model-registration/{f}.yaml" for f in ("kustomization", "registration-config", "register-models")),
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
    [config] = [d for d in of_kind(tree, "ConfigMap") if "models.json" in d.get("data", {})]
    registered = {entry["name"]: entry["uri"] for entry in json.loads(config["data"]["models.json"])}
    served = {s["metadata"]["name"]: s["spec"]["predictor"]["model"]["storageUri"] for s in of_kind(tree, "InferenceService")}
    assert registered == served
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
    scripts = [c for c in of_kind(tree, "ConfigMap") if "upload.py" in c.get("data", {})]
    assert len(scripts) == (1 if jobs else 0)
    for job in jobs:
        volumes = job["spec"]["template"]["spec"]["volumes"]
        assert {"name": "uploader", "configMap": {"name": scripts[0]["metadata"]["name"]}} in volumes
        assert "import" not in json.dumps(job)


# Defect 6: "already registered" decided by grepping a JSON page; ids parsed with sed.
def test_registration_script_parses_json_and_looks_up_exact_names(default_tree: Tree) -> None:
    [config] = [d for d in of_kind(default_tree, "ConfigMap") if "register.py" in d.get("data", {})]
    script = config["data"]["register.py"]
    assert "json.load" in script
    assert not re.search(r"\b(grep|sed|awk)\b", script)
    assert 'query("/registered_model", name=name)' in script


# Defect 7: uploads and registration in one wave; the LocalQueue after the models that need it.
@pytest.mark.parametrize("name", ALL)
def test_sync_waves_order_the_components(name: str) -> None:
    tree = render_named(name)
    order = ["kueue", "model-upload", "serving-runtime", "inference", "model-registration"]
    waves: dict[str, set[int]] = {}
    for path, doc in documents(tree):
        if doc["kind"] in ("Kustomization", "Application"):
            continue
        component = path.split("/")[3]
        waves.setdefault(component, set()).add(int(doc["metadata"]["annotations"][SYNC_WAVE]))
    present = [c for c in order if c in waves]
    assert all(len(waves[c]) == 1 for c in present)
    flat = [next(iter(waves[c])) for c in present]
    assert flat == sorted(flat) and len(set(flat)) == len(flat)
    [queue] = of_kind(tree, "LocalQueue")
    assert int(queue["metadata"]["annotations"][SYNC_WAVE]) < min(
        int(s["metadata"]["annotations"][SYNC_WAVE]) for s in of_kind(tree, "InferenceService"))


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
                        "--gpu-memory-utilization=0.9", "--trust-remote-code"]),
    ("granite-8b-agent", ["--served-model-name=granite-8b-agent", "--max-model-len=16384",
                          "--gpu-memory-utilization=0.9", "--trust-remote-code", "--tool-call-parser=granite",
                          "--enable-auto-tool-choice"]),
])
def test_vllm_args_follow_the_facts(default_tree: Tree, model: str, expected: list[str]) -> None:
    assert isvc(default_tree, model)["spec"]["predictor"]["model"]["args"] == expected


def test_queued_models_start_at_zero(default_tree: Tree) -> None:
    replicas = {s["metadata"]["name"]: s["spec"]["predictor"]["minReplicas"] for s in of_kind(default_tree, "InferenceService")}
    assert replicas == {"mistral-3-bf16": 1, "mistral-3-int4": 1, "devstral-2": 0, "gpt-oss-20b": 0, "granite-8b-agent": 0}


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
    jobs = {j["metadata"]["name"]: j for j in of_kind(default_tree, "Job") if j["metadata"]["name"].startswith("upload-")}
    assert sorted(jobs) == ["upload-gpt-oss-20b", "upload-granite-3-1-8b-instruct-fp8", "upload-mistral-small-24b"]
    shared = jobs["upload-mistral-small-24b"]["metadata"]["annotations"]["gpuaas.opendatahub.io/models"]
    assert shared == "mistral-3-bf16,devstral-2"
    claims = {c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"] for c in of_kind(default_tree, "PersistentVolumeClaim")}
    assert claims == {"upload-mistral-small-24b": "100Gi", "upload-gpt-oss-20b": "90Gi",
                      "upload-granite-3-1-8b-instruct-fp8": "20Gi"}


def test_upload_jobs_run_restricted_with_deadline_and_retries(default_tree: Tree) -> None:
    for job in of_kind(default_tree, "Job"):
        spec = job["spec"]
        assert spec["activeDeadlineSeconds"] > 0 and spec["backoffLimit"] >= 1
        pod = spec["template"]["spec"]
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_kueue_objects(default_tree: Tree) -> None:
    [queue] = of_kind(default_tree, "ClusterQueue")
    [group] = queue["spec"]["resourceGroups"]
    assert queue["apiVersion"] == "kueue.x-k8s.io/v1beta1"
    assert [f["name"] for f in group["flavors"]] == ["nvidia-l4-1gpu", "nvidia-l4-4gpu"]
    assert group["flavors"][1]["resources"] == [
        {"name": "nvidia.com/gpu", "nominalQuota": "4"}, {"name": "cpu", "nominalQuota": "48"},
        {"name": "memory", "nominalQuota": "192Gi"}]
    flavors = {f["metadata"]["name"]: f["spec"] for f in of_kind(default_tree, "ResourceFlavor")}
    assert flavors["nvidia-l4-1gpu"]["nodeLabels"] == {"node.kubernetes.io/instance-type": "g6.4xlarge",
                                                       "node-role.kubernetes.io/gpu": ""}
    [local] = of_kind(default_tree, "LocalQueue")
    assert local["metadata"]["namespace"] == "private-ai" and local["spec"] == {"clusterQueue": "rhoai-main-queue"}


def test_argocd_application(default_tree: Tree) -> None:
    [app, root] = of_kind(default_tree, "Application")
    assert root["metadata"]["name"] == "app-of-apps"
    assert root["spec"]["source"]["path"] == "gitops/argocd/app-of-apps"
    assert root["spec"]["destination"]["namespace"] == "openshift-gitops"
    assert app["metadata"] == {"name": "step-05-llm-on-vllm", "namespace": "openshift-gitops",
                               "labels": {"app.kubernetes.io/managed-by": "gpuaas-generator"}}
    assert app["spec"]["source"]["path"] == "gitops/step-05-llm-on-vllm/base"
    assert app["spec"]["syncPolicy"]["retry"] == {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}

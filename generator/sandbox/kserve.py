"""KServe in the box: upstream KServe's controller manager (github.com/kserve/kserve v0.16.0, pinned in
cluster/kserve) in RawDeployment mode, configured as OpenShift AI 3.0 configures its KServe, with its webhooks
served on loopback.

From the pinned module (so it belongs to the release the binary was built from):
- `inferenceservice-config`: KServe's ConfigMap (config/configmap/inferenceservice.yaml), with the entries
  OpenShift AI 3.0 replaces set to OpenShift AI's values (`OPENSHIFT_AI_CONFIG`, read at opendatahub-io/kserve
  odh-v3.0 config/overlays/odh/patches/patch-inferenceservice-config.yaml: no Ingress, ModelCars on, no
  service-account token) and RawDeployment as the default mode, OpenShift AI 3.0 having no Serverless mode;
- the webhooks (InferenceService defaulter and validator, the pod mutator, ServingRuntime, TrainedModel and
  InferenceGraph validators) from config/webhook/manifests.yaml, less those OpenShift AI's overlay deletes
  (ClusterServingRuntime, LocalModelCache); pointed at https://127.0.0.1:<port> with the box's CA;
- the CRDs KServe watches that ../shared/crds lacks (TrainedModel, InferenceGraph, ClusterStorageContainer) from
  config/crd/full.

The one deviation from OpenShift AI's KServe (cluster/README.md says it with its sources): the tree writes
`serving.kserve.io/deploymentMode: RawDeployment`, the name OpenShift AI 3.0's KServe knows the mode by. Upstream
renamed the mode `Standard`: its controller and defaulter read `RawDeployment` as `Standard`
(pkg/controller/v1beta1/inferenceservice/utils/utils.go GetDeploymentMode), but its InferenceService validator
(pkg/apis/serving/v1beta1/inference_service_validation.go) takes any other value for Knative: it refuses a
`deploymentStrategy` (validateAutoScalingCompExtension), which every model of the tree has, and refuses every
update once the controller has recorded `Standard` in the status (validateDeploymentMode). So the box registers
that validator with a match condition that leaves out exactly the InferenceServices annotated `RawDeployment`;
the box tier calls the validator itself with each of the tree's InferenceServices under the upstream name and
expects it accepted.

The manager's webhook server takes only a port (cmd/manager/main.go): it listens on every interface, and reads its
certificate from controller-runtime's default directory under the temporary directory, so the box gives the
process a TMPDIR of its own and puts the certificate there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from generator.admission.pods import MODELCAR, STORAGE_INITIALIZER
from generator.sandbox.box import Box
from generator.sandbox.kueue import apply_missing_crds, http_ok, https_answers, module_dir, point_webhooks

NAMESPACE = "redhat-ods-applications"  # where OpenShift AI runs the KServe controller and its ConfigMap
CONFIG_MAP = "inferenceservice-config"
# The kinds the manager watches or lists (its controllers and pod mutator); not the LLMInferenceService kinds (another
# controller) nor the local-model ones (OpenShift AI's overlay deletes them).
WATCHED = ("inferenceservices", "servingruntimes", "clusterservingruntimes", "trainedmodels", "inferencegraphs",
           "clusterstoragecontainers")
# Webhook configurations the box does not register: OpenShift AI's overlay deletes them.
SKIPPED_WEBHOOKS = ("clusterservingruntime.serving.kserve.io", "localmodelcache.serving.kserve.io")
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
LEGACY_MODE = "RawDeployment"  # OpenShift AI 3.0's name of the mode, which the tree writes
UPSTREAM_MODE = "Standard"  # upstream's name of the same mode since v0.15
ISVC_VALIDATOR = "inferenceservice.kserve-webhook-server.validator"
ISVC_VALIDATOR_PATH = "/validate-serving-kserve-io-v1beta1-inferenceservice"
# The match condition that keeps upstream's InferenceService validator away from the legacy mode name (see above).
NOT_LEGACY_MODE = {
    "name": "not-openshift-ai-rawdeployment",
    "expression": (f"!has(object.metadata.annotations) || !('{DEPLOYMENT_MODE}' in object.metadata.annotations) || "
                   f"object.metadata.annotations['{DEPLOYMENT_MODE}'] != '{LEGACY_MODE}'"),
}

# The entries of inferenceservice-config OpenShift AI 3.0 sets (its overlay replaces each entry whole), as its
# overlay has them at odh-v3.0, less the images of containers the tree never asks for (logger, batcher, agent,
# router, explainers) and the kube-rbac-proxy entry, which only OpenShift AI's KServe reads. The storage
# initializer's image is the one OpenShift AI's params.env names; no container runs in the box, so it only shows
# in pod specs.
OPENSHIFT_AI_CONFIG: dict[str, dict[str, Any]] = {
    "explainers": {},
    "storageInitializer": {
        "image": "quay.io/opendatahub/kserve-storage-initializer:odh-v3.0",
        **STORAGE_INITIALIZER, **MODELCAR, "enableDirectPvcVolumeMount": True, "enableModelcar": True,
    },
    "ingress": {
        "enableGatewayApi": False, "kserveIngressGateway": "openshift-ingress/openshift-ai-inference",
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "knativeLocalGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
        "ingressService": "istio-ingressgateway.istio-system.svc.cluster.local",
        "localGateway": "istio-system/kserve-local-gateway",
        "localGatewayService": "kserve-local-gateway.istio-system.svc.cluster.local",
        "ingressDomain": "example.com", "ingressClassName": "istio", "domainTemplate": "example.com",
        "urlScheme": "https", "disableIstioVirtualHost": False, "disableIngressCreation": True,
    },
    "deploy": {"defaultDeploymentMode": LEGACY_MODE},
    "inferenceService": {
        "serviceAnnotationDisallowedList": [
            "autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
            "internal.serving.kserve.io/storage-initializer-sourceuri", "kubectl.kubernetes.io/last-applied-configuration",
            "security.opendatahub.io/enable-auth", "networking.knative.dev/visibility", "haproxy.router.openshift.io/timeout",
        ],
    },
    "security": {"autoMountServiceAccountToken": False},
}


class KServe:
    """KServe's controller manager against the box's API server, with the admin kubeconfig."""

    name = "kserve"

    def start(self, box: Box) -> None:
        source = module_dir("kserve", "github.com/kserve/kserve")
        data = box.data_dir(self.name)
        webhook_port, health_port = box.port("kserve-webhook"), box.port("kserve-health")

        apply_missing_crds(box, [source / "config/crd/full" / f"serving.kserve.io_{plural}.yaml" for plural in WATCHED])
        box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all([
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, config_map(source)]))
        serving = box.certs.leaf("kserve-webhook", ["127.0.0.1"])
        cert_dir = data / "tmp" / "k8s-webhook-server" / "serving-certs"  # controller-runtime's default, under TMPDIR
        cert_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(serving.cert, cert_dir / "tls.crt")
        shutil.copyfile(serving.key, cert_dir / "tls.key")
        box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                    input=yaml.safe_dump_all(webhook_configurations(source, webhook_url(box), box.certs.ca_pem)))

        box.spawn(self.name, [str(box.binary("kserve-manager")), "--metrics-addr=0",
                              f"--health-probe-addr=127.0.0.1:{health_port}", f"--webhook-port={webhook_port}"],
                  env={"KUBECONFIG": str(box.kubeconfig), "POD_NAMESPACE": NAMESPACE, "TMPDIR": str(data / "tmp")})
        box.wait_until(self.name, lambda: http_ok(f"http://127.0.0.1:{health_port}/readyz"), timeout=120,
                       what="ready (readyz: its webhook server started)")
        box.wait_until(self.name, lambda: https_answers(webhook_port, box.certs.ca_pem), timeout=30,
                       what="serving its webhooks on 127.0.0.1 with the box's certificate")


def webhook_url(box: Box) -> str:
    """Where the box's KServe serves its webhooks."""
    return f"https://127.0.0.1:{box.port('kserve-webhook')}"


def config_map(source: Path) -> dict[str, Any]:
    """`inferenceservice-config` as OpenShift AI 3.0 has it: KServe's, with OpenShift AI's entries."""
    base = yaml.safe_load((source / "config/configmap/inferenceservice.yaml").read_text(encoding="utf-8"))
    data: dict[str, str] = {k: v for k, v in base["data"].items() if k != "_example"}
    for key, value in OPENSHIFT_AI_CONFIG.items():
        data[key] = json.dumps(value, indent=2)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE}, "data": data}


def webhook_configurations(source: Path, base_url: str, ca_pem: bytes) -> list[dict[str, Any]]:
    """KServe's webhook configurations from the module, served at `base_url` and trusting `ca_pem`; the
    InferenceService validator with the match condition that leaves out the legacy mode name."""
    manifests = source / "config/webhook/manifests.yaml"
    configurations = []
    for document in yaml.safe_load_all(manifests.read_text(encoding="utf-8")):
        if not document or document.get("kind") not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            continue
        if document["metadata"]["name"] in SKIPPED_WEBHOOKS:
            continue
        document["metadata"] = {"name": document["metadata"]["name"]}
        document["webhooks"] = point_webhooks(document["webhooks"], base_url, ca_pem)
        for webhook in document["webhooks"]:
            if document["kind"] == "ValidatingWebhookConfiguration" and webhook["name"] == ISVC_VALIDATOR:
                webhook["matchConditions"] = [NOT_LEGACY_MODE]
        configurations.append(document)
    return configurations

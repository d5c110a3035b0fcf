"""KServe in the box: the controller manager OpenShift AI 3.0 runs (opendatahub-io/kserve at odh-v3.0, pinned in
cluster/kserve) in RawDeployment mode, with its webhooks served on loopback.

Everything is read from the pinned module, so it belongs to the release the binary was built from:
- `inferenceservice-config`: KServe's ConfigMap (config/configmap/inferenceservice.yaml) with OpenShift AI's
  overlay of it (config/overlays/odh: no Ingress, ModelCars on, no service-account token, its images from
  params.env), and RawDeployment as the default mode, OpenShift AI 3.0 having no Serverless mode;
- the webhooks (InferenceService defaulter and validator, the pod mutator, ServingRuntime, TrainedModel and
  InferenceGraph validators) from config/webhook/manifests.yaml, less those the overlay deletes
  (ClusterServingRuntime, LocalModelCache) and those of the LLMInferenceService controller, a separate program
  the box does not run; pointed at https://127.0.0.1:<port> with the box's CA;
- the CRDs KServe watches that ../shared/crds lacks (TrainedModel, InferenceGraph, ClusterStorageContainer) from
  config/crd/full; and OpenShift's Route, which the InferenceGraph controller owns, as the CRD openshift/api
  publishes (route/v1/zz_generated.crd-manifests/routes-Default.crd.yaml; OpenShift serves it built in).

The manager's webhook server takes only a port (cmd/manager/main.go): it listens on every interface, and reads its
certificate from controller-runtime's default directory under the temporary directory, so the box gives the
process a TMPDIR of its own and puts the certificate there.

A stand-in for two OpenShift parts the fork relies on (`python -m generator.sandbox.kserve routes`): for an
InferenceService labelled `networking.kserve.io/visibility: exposed`, OpenShift AI's KServe takes its URL from the
Route odh-model-controller makes (pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/
kube_ingress_reconciler.go, createRawURLODH) and fails the reconcile, writing no status at all, until that Route
exists, is owned by the InferenceService and is admitted by the router. The stand-in makes that Route as
odh-model-controller does (its name, its target Service and port, edge or reencrypt TLS, the owner reference) and
admits it as the router would; it does nothing else of either.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from generator.sandbox.box import Box
from generator.sandbox.kueue import apply_missing_crds, http_ok, https_answers, module_dir, point_webhooks

NAMESPACE = "redhat-ods-applications"  # where OpenShift AI runs the KServe controller and its ConfigMap
CONFIG_MAP = "inferenceservice-config"
ODH_OVERLAY = "config/overlays/odh"
ROUTE_CRD = "route/v1/zz_generated.crd-manifests/routes-Default.crd.yaml"
# The kinds the manager watches or lists (its controllers and pod mutator); not the LLMInferenceService kinds (another
# controller) nor the local-model ones (OpenShift AI's overlay deletes them).
WATCHED = ("inferenceservices", "servingruntimes", "clusterservingruntimes", "trainedmodels", "inferencegraphs",
           "clusterstoragecontainers")
# Webhook configurations the box does not register: deleted by OpenShift AI's overlay, or served by the
# LLMInferenceService controller.
ISVC_LABEL = "serving.kserve.io/inferenceservice"
VISIBILITY_LABEL = "networking.kserve.io/visibility"
ENABLE_AUTH = "security.opendatahub.io/enable-auth"
APPS_DOMAIN = "apps.box.invalid"  # the box's stand-in for the cluster's apps domain
ROUTES = "/apis/route.openshift.io/v1"
SKIPPED_WEBHOOKS = ("clusterservingruntime.serving.kserve.io", "localmodelcache.serving.kserve.io",
                    "llminferenceservice.serving.kserve.io", "llminferenceserviceconfig.serving.kserve.io")


class KServe:
    """KServe's controller manager against the box's API server, with the admin kubeconfig.

    `storage_initializer_image` replaces the overlay's image (the one OpenShift AI's release names) in the pods
    the pod mutator writes; no container runs in the box, so it only shows in the pod specs.
    """

    name = "kserve"

    def __init__(self, storage_initializer_image: str | None = None) -> None:
        self.storage_initializer_image = storage_initializer_image

    def start(self, box: Box) -> None:
        source = module_dir("kserve", "github.com/kserve/kserve")
        openshift_api = module_dir("kserve", "github.com/openshift/api")
        data = box.data_dir(self.name)
        webhook_port, health_port = box.port("kserve-webhook"), box.port("kserve-health")

        crds = [source / "config/crd/full" / f"serving.kserve.io_{plural}.yaml" for plural in WATCHED]
        apply_missing_crds(box, [*crds, openshift_api / ROUTE_CRD])
        box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all([
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            self.config_map(source)]))
        serving = box.certs.leaf("kserve-webhook", ["127.0.0.1"])
        cert_dir = data / "tmp" / "k8s-webhook-server" / "serving-certs"  # controller-runtime's default, under TMPDIR
        cert_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(serving.cert, cert_dir / "tls.crt")
        shutil.copyfile(serving.key, cert_dir / "tls.key")
        box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                    input=yaml.safe_dump_all(webhook_configurations(source, f"https://127.0.0.1:{webhook_port}", box.certs.ca_pem)))

        box.spawn(self.name, [str(box.binary("kserve-manager")), "--metrics-addr=0",
                              f"--health-probe-addr=127.0.0.1:{health_port}", f"--webhook-port={webhook_port}"],
                  env={"KUBECONFIG": str(box.kubeconfig), "POD_NAMESPACE": NAMESPACE, "TMPDIR": str(data / "tmp")})
        box.wait_until(self.name, lambda: http_ok(f"http://127.0.0.1:{health_port}/readyz"), timeout=120,
                       what="ready (readyz: its webhook server started)")
        box.wait_until(self.name, lambda: https_answers(webhook_port, box.certs.ca_pem), timeout=30,
                       what="serving its webhooks on 127.0.0.1 with the box's certificate")
        box.spawn(ROUTES_PROCESS, [sys.executable, "-m", "generator.sandbox.kserve", "routes", "--state", str(box.state)])
        box.wait_until(ROUTES_PROCESS, lambda: "watching" in box.log_tail(ROUTES_PROCESS), timeout=30,
                       what="watching InferenceServices")

    def config_map(self, source: Path) -> dict[str, Any]:
        """`inferenceservice-config` as OpenShift AI 3.0 has it: KServe's, OpenShift AI's overlay, RawDeployment."""
        base = yaml.safe_load((source / "config/configmap/inferenceservice.yaml").read_text(encoding="utf-8"))
        overlay = yaml.safe_load((source / ODH_OVERLAY / "patches/patch-inferenceservice-config.yaml").read_text(encoding="utf-8"))
        params = _params(source / ODH_OVERLAY / "params.env")
        data: dict[str, str] = {k: v for k, v in base["data"].items() if k != "_example"}
        for key, value in overlay["data"].items():  # the overlay replaces whole entries (a strategic merge of data)
            data[key] = re.sub(r"\$\(([a-z0-9-]+)\)", lambda m: params[m.group(1)], value)
        overrides: dict[str, dict[str, Any]] = {"deploy": {"defaultDeploymentMode": "RawDeployment"}}
        if self.storage_initializer_image:
            overrides["storageInitializer"] = {"image": self.storage_initializer_image}
        for key, values in overrides.items():
            data[key] = json.dumps({**json.loads(data[key]), **values}, indent=2)
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
                "data": data}


ROUTES_PROCESS = "kserve-routes"


def desired_route(isvc: dict[str, Any], services: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Route odh-model-controller makes for an exposed InferenceService, once its predictor Service exists
    (None before): named like the InferenceService, to its predictor Service (a transformer's first), on the
    `https` port with reencrypt TLS when auth is on, else `http` with edge TLS, else the first named port."""
    meta = isvc["metadata"]
    if meta.get("labels", {}).get(VISIBILITY_LABEL) != "exposed":
        return None
    by_component = {s["metadata"].get("labels", {}).get("component"): s for s in services}
    predictor = next((s for s in services if s["metadata"]["name"] == f"{meta['name']}-predictor"), by_component.get("predictor"))
    target = by_component.get("transformer") or predictor
    if target is None:
        return None
    auth = meta.get("annotations", {}).get(ENABLE_AUTH, "").lower() == "true"
    ports = target["spec"].get("ports") or []
    wanted = "https" if auth else "http"
    port: str | int | None = next((p["name"] for p in ports if p.get("name") == wanted), None) \
        or next((p["name"] for p in ports if p.get("name")), None) or (ports[0]["port"] if ports else None)
    if port is None:
        return None
    return {
        "apiVersion": "route.openshift.io/v1", "kind": "Route",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": {"inferenceservice-name": meta["name"]},
                     "ownerReferences": [{"apiVersion": isvc["apiVersion"], "kind": isvc["kind"], "name": meta["name"],
                                          "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"host": f"{meta['name']}-{meta['namespace']}.{APPS_DOMAIN}",
                 "to": {"kind": "Service", "name": target["metadata"]["name"], "weight": 100},
                 "port": {"targetPort": port}, "wildcardPolicy": "None",
                 "tls": {"termination": "reencrypt" if auth else "edge", "insecureEdgeTerminationPolicy": "Redirect"}},
    }


def admitted(route: dict[str, Any]) -> dict[str, Any]:
    """The status the router writes on a Route it serves."""
    return {"status": {"ingress": [{"host": route["spec"]["host"], "routerName": "default", "wildcardPolicy": "None",
                                    "conditions": [{"type": "Admitted", "status": "True"}]}]}}


def _is_admitted(route: dict[str, Any]) -> bool:
    return any(c.get("type") == "Admitted" and c.get("status") == "True"
               for ingress in (route.get("status") or {}).get("ingress") or [] for c in ingress.get("conditions") or [])


def reconcile_routes(box: Box) -> None:
    """One pass of the stand-in over every exposed InferenceService."""
    selector = urllib.parse.quote(f"{VISIBILITY_LABEL}=exposed")
    status, listed = box.request("GET", f"/apis/serving.kserve.io/v1beta1/inferenceservices?labelSelector={selector}")
    if status != 200:
        return
    for isvc in listed.get("items", []):
        namespace, name = isvc["metadata"]["namespace"], isvc["metadata"]["name"]
        path = f"{ROUTES}/namespaces/{namespace}/routes/{name}"
        status, route = box.request("GET", path)
        if status == 404:
            query = urllib.parse.quote(f"{ISVC_LABEL}={name}")
            _, services = box.request("GET", f"/api/v1/namespaces/{namespace}/services?labelSelector={query}")
            route = desired_route(isvc, services.get("items", []) if isinstance(services, dict) else [])
            if route is None:
                continue
            status, route = box.request("POST", f"{ROUTES}/namespaces/{namespace}/routes", route)
        if status in (200, 201) and isinstance(route, dict) and not _is_admitted(route):
            box.request("PATCH", path + "/status", admitted(route), content_type="application/merge-patch+json")


def _watch_routes(state: Path, interval: float) -> None:
    box = Box(state)
    print("kserve-routes: watching exposed InferenceServices (odh-model-controller's Route, the router's admission)", flush=True)
    while True:
        try:
            reconcile_routes(box)
        except OSError as error:  # the API server restarting or going away with the box
            print(f"kserve-routes: {error}", flush=True)
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.sandbox.kserve", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    routes = commands.add_parser("routes", help="run the Route stand-in against the box in --state")
    routes.add_argument("--state", type=Path, required=True)
    routes.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    _watch_routes(args.state, args.interval)
    return 0


def _params(path: Path) -> dict[str, str]:
    """A kustomize params.env: `name=value` lines, `#` comments."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def webhook_configurations(source: Path, base_url: str, ca_pem: bytes) -> list[dict[str, Any]]:
    """KServe's webhook configurations from the module, served at `base_url` and trusting `ca_pem`."""
    manifests = source / "config/webhook/manifests.yaml"
    configurations = []
    for document in yaml.safe_load_all(manifests.read_text(encoding="utf-8")):
        if not document or document.get("kind") not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            continue
        if document["metadata"]["name"] in SKIPPED_WEBHOOKS:
            continue
        document["metadata"] = {"name": document["metadata"]["name"]}
        document["webhooks"] = point_webhooks(document["webhooks"], base_url, ca_pem)
        configurations.append(document)
    return configurations


if __name__ == "__main__":
    sys.exit(main())

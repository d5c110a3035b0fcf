"""Argo CD in the box: the real application controller and repo-server (github.com/argoproj/argo-cd/v3, pinned in
cluster/argocd at the release OpenShift GitOps 1.19.0 ships), with Redis from the distribution, on loopback.

What OpenShift GitOps' operator would make, the box makes itself:
- Argo CD's CRDs (Application, AppProject, ApplicationSet) and the operator's `ArgoCD` CRD, from ../shared/crds.
- `argocd-cm`, `argocd-rbac-cm` and `argocd-secret` as the release installs them (manifests/base/config of the
  pinned module), `argocd-secret` with a random `server.secretkey` made for this box only.
- An `ArgoCD` object named after the namespace, as the operator's default instance; `merge_health_checks` patches
  the tree's health checks into it as the runbook does. `apply_operator_settings`
  does the operator's part for health checks: every `spec.resourceHealthChecks[]` of the namespace's `ArgoCD`
  objects becomes the argocd-cm key `resource.customizations.health.<group>_<kind>` (`<kind>` for the core group).

The destination `https://kubernetes.default.svc` is Argo CD's in-cluster cluster: out of a pod, Argo CD resolves
it from the kubeconfig when ARGOCD_FAKE_IN_CLUSTER is true (pkg/apis/application/v1alpha1 Cluster.RawRestConfig),
so the controller gets the box's admin kubeconfig and no cluster Secret is needed. The repo-server runs the
kustomize Argo CD's image bundles (cluster/argocd-kustomize), with ARGOCD_EXEC_TIMEOUT unset: its 90 s default,
the time a user's repo-server gives a render. GnuPG is off (nothing here verifies commit signatures).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import yaml

from generator.render.argocd import HEALTH_CHECKS, health_check_patch
from generator.sandbox.box import Box
from generator.sandbox.build import build_script
from generator.sandbox.errors import SandboxError, ToolMissing
from generator.sandbox.prereqs import crd_documents, establish_crds

MODULE = "github.com/argoproj/argo-cd/v3"
FIELD_MANAGER = "gpuaas-sandbox-argocd"
OPERATOR_MANAGER = "argocd-operator"  # the field manager of what the operator would write
START_TIMEOUT = 120
ARGO_GROUP = "argoproj.io"
ARGO_API = f"/apis/{ARGO_GROUP}/v1alpha1"
ARGO_KINDS = {"Application", "AppProject", "ArgoCD"}
WATCH_WINDOW = 10  # seconds the API server keeps one watch open before the ApplicationWatch resumes it
PART_OF = {"app.kubernetes.io/part-of": "argocd"}  # Argo CD only watches ConfigMaps and Secrets with this label
# The Unix socket Argo CD's git askpass helper talks to must fit in sun_path (108 bytes with the terminating NUL).
SOCKET_PATH_MAX = 100


class ArgoCD:
    """A component: Redis, the repo-server and the application controller of one Argo CD in `namespace`."""

    name = "argocd"

    def __init__(self, namespace: str, crd_dirs: list[Path]) -> None:
        self.namespace, self.crd_dirs = namespace, crd_dirs

    def start(self, box: Box) -> None:
        source = module_source(MODULE)
        _apply_crds(box, self.crd_dirs)
        box.kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-",
                    input=yaml.safe_dump_all(self.settings(source), sort_keys=False))
        redis = self._start_redis(box)
        repo_server = self._start_repo_server(box, redis)
        self._start_controller(box, redis, repo_server)

    # --- what Argo CD reads -----------------------------------------------------------------------------------------

    def settings(self, source: Path) -> list[dict[str, Any]]:
        """The namespace, Argo CD's ConfigMaps and Secret as the release installs them, the default `ArgoCD`."""
        config = source / "manifests" / "base" / "config"
        documents: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}]
        for name in ("argocd-cm.yaml", "argocd-rbac-cm.yaml", "argocd-secret.yaml"):
            document = yaml.safe_load((config / name).read_text(encoding="utf-8"))
            document["metadata"]["namespace"] = self.namespace
            documents.append(document)
        secret = documents[-1]
        secret["stringData"] = {"server.secretkey": secrets.token_urlsafe(32)}
        documents.append({"apiVersion": f"{ARGO_GROUP}/v1beta1", "kind": "ArgoCD",
                          "metadata": {"name": self.namespace, "namespace": self.namespace}, "spec": {}})
        return documents

    def merge_health_checks(self, box: Box, instance: str) -> None:
        """What the runbook's deploy section has a cluster administrator do: the tree's health checks added to the
        `ArgoCD` instance with a JSON patch that keeps every other entry (the list created when it has none)."""
        current = box.kubectl_json("get", f"argocds.{ARGO_GROUP}", instance, "-n", self.namespace)
        create = [] if "resourceHealthChecks" in (current.get("spec") or {}) else [
            {"op": "add", "path": HEALTH_CHECKS, "value": []}]
        box.kubectl("patch", f"argocds.{ARGO_GROUP}", instance, "-n", self.namespace, "--type=json",
                    "-p", json.dumps([*create, *health_check_patch()]))

    def apply_operator_settings(self, box: Box) -> dict[str, str]:
        """Do what OpenShift GitOps' operator does with the `ArgoCD` objects' health checks: write each one into
        argocd-cm (and drop the ones no `ArgoCD` object declares any more). Returns the keys and scripts written."""
        instances = box.kubectl_json("get", f"argocds.{ARGO_GROUP}", "-n", self.namespace)["items"]
        checks = health_customizations(instances)
        current = box.kubectl_json("get", "configmap", "argocd-cm", "-n", self.namespace)
        stale = [key for key in current.get("data", {}) if key.startswith(HEALTH_PREFIX) and key not in checks]
        patch: dict[str, Any] = {"data": {**dict.fromkeys(stale), **checks}}
        box.kubectl("patch", "configmap", "argocd-cm", "-n", self.namespace, "--type=merge", "-p", json.dumps(patch))
        return checks

    # --- processes -------------------------------------------------------------------------------------------------

    def _start_redis(self, box: Box) -> str:
        name = "argocd-redis"
        server = shutil.which("redis-server")
        if server is None:
            raise ToolMissing("redis-server is not installed; Argo CD in the box keeps its cache in Redis: install the "
                              "distribution's package (Debian and Ubuntu: apt-get install redis-server)")
        port = box.port(name)
        box.spawn(name, [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                         "--dir", str(box.data_dir(name))])
        box.wait_until(name, lambda: _redis_pong(port), START_TIMEOUT, what="answering PING")
        return f"127.0.0.1:{port}"

    def _start_repo_server(self, box: Box, redis: str) -> str:
        name = "argocd-repo-server"
        port, metrics = box.port(name), box.port(f"{name}-metrics")
        work = box.data_dir(name)
        (work / "tmp").mkdir(exist_ok=True)
        socket_path = work / "askpass.sock"
        if len(str(socket_path)) > SOCKET_PATH_MAX:
            raise SandboxError(f"{name}: the box's state directory {box.state} is too long for a Unix socket path; "
                               "start the box in a shorter one (GPUAAS_GENERATOR_BOX)")
        kustomize = box.binary("kustomize")
        env = {
            "PATH": f"{kustomize.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "TMPDIR": str(work / "tmp"),  # the repo-server clones into $TMPDIR/_argocd-repo
            "ARGOCD_ASK_PASS_SOCK": str(socket_path),
            "ARGOCD_GPG_ENABLED": "false",
            "HOME": str(work),
        }
        box.spawn(name, [str(box.binary(name)), "--address=127.0.0.1", f"--port={port}",
                         "--metrics-address=127.0.0.1", f"--metrics-port={metrics}", "--disable-tls",
                         f"--redis={redis}", "--logformat=text"], env=env)
        box.wait_until(name, lambda: _http_ok(metrics, "/healthz?full=true"), START_TIMEOUT, what="serving gRPC")
        return f"127.0.0.1:{port}"

    def _start_controller(self, box: Box, redis: str, repo_server: str) -> None:
        name = "argocd-application-controller"
        metrics = box.port(f"{name}-metrics")
        env = {"KUBECONFIG": str(box.kubeconfig), "ARGOCD_FAKE_IN_CLUSTER": "true", "HOME": str(box.data_dir(name))}
        # The flags OpenShift GitOps' operator gives the controller (argocd-operator controllers/argocd/util.go,
        # getArgoApplicationControllerCommand), among them --persist-resource-health: each resource's health is
        # kept in the Application's status.resources, where Argo CD 3's default keeps it only in Redis.
        box.spawn(name, [str(box.binary(name)), f"--namespace={self.namespace}", f"--repo-server={repo_server}",
                         "--repo-server-plaintext", f"--redis={redis}", "--operation-processors=10",
                         "--status-processors=20", "--kubectl-parallelism-limit=10", "--persist-resource-health",
                         f"--metrics-port={metrics}", "--loglevel=info", "--logformat=text"], env=env)
        box.wait_until(name, lambda: _http_ok(metrics, "/healthz"), START_TIMEOUT, what="healthy")


HEALTH_PREFIX = "resource.customizations.health."
FINISHED = ("Succeeded", "Failed", "Error")  # an operation's phases once it has ended


class ApplicationWatch:
    """Every operation state Argo CD writes into the Applications of a namespace, in the order the API server's
    watch delivers them. An Application keeps only its last operation; a self-heal or a retry replaces it, so a
    test that reads the first sync (or each attempt of a retried one) must have watched it happen.

    `start()` lists and then watches in a thread until `stop()`; a closed or expired watch is resumed."""

    def __init__(self, box: Box, namespace: str) -> None:
        self.box, self.namespace = box, namespace
        self._seen: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = ssl.create_default_context(cafile=str(box.certs.ca.cert))
        admin = box.certs.admin()
        self._context.load_cert_chain(str(admin.cert), str(admin.key))

    def start(self) -> ApplicationWatch:
        version = self._list()
        self._thread = threading.Thread(target=self._run, args=(version,), name=f"watch-applications-{self.namespace}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=WATCH_WINDOW + 5)

    def states(self, name: str) -> list[dict[str, Any]]:
        """Each distinct operation state of the Application `name`, oldest first."""
        with self._lock:
            return list(self._seen.get(name, []))

    def finished(self, name: str) -> list[dict[str, Any]]:
        """The operations of `name` that ended (one entry per operation and attempt), oldest first."""
        return [s for s in self.states(name) if s.get("phase") in FINISHED]

    def _record(self, application: dict[str, Any]) -> None:
        state = (application.get("status") or {}).get("operationState")
        if not state:
            return
        with self._lock:
            seen = self._seen.setdefault(application["metadata"]["name"], [])
            if state not in seen:
                seen.append(state)

    def _list(self) -> str:
        status, body = self.box.request("GET", f"{ARGO_API}/namespaces/{self.namespace}/applications")
        if status != 200:
            raise SandboxError(f"argocd: cannot list the Applications of {self.namespace}: {status} {body}")
        for item in body.get("items", []):
            self._record(item)
        return str(body["metadata"]["resourceVersion"])

    def _run(self, version: str) -> None:
        while not self._stopping.is_set():
            try:
                version = self._watch(version)
            except (OSError, http.client.HTTPException, ValueError):
                # The watch broke or its version expired: list again (what changed meanwhile is in the list).
                while not self._stopping.wait(1):
                    try:
                        version = self._list()
                        break
                    except (OSError, SandboxError):
                        continue

    def _watch(self, version: str) -> str:
        """One watch request (the server ends it after WATCH_WINDOW seconds); the last resourceVersion seen."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.box.port("kube-apiserver"), context=self._context,
                                                 timeout=WATCH_WINDOW + 30)
        try:
            connection.request("GET", f"{ARGO_API}/namespaces/{self.namespace}/applications?watch=1"
                                      f"&resourceVersion={version}&timeoutSeconds={WATCH_WINDOW}")
            answer = connection.getresponse()
            if answer.status != 200:
                raise ValueError(f"watch answered {answer.status}")
            for line in answer:
                event = json.loads(line)
                if event["type"] == "ERROR":  # e.g. 410 Gone: the version is too old, list again
                    raise ValueError(str(event["object"]))
                self._record(event["object"])
                version = str(event["object"]["metadata"]["resourceVersion"])
            return version
        finally:
            connection.close()


def module_source(module: str) -> Path:
    """The source of `module` at the version cluster/argocd/go.mod pins, from the Go module cache (fetched again
    through the module proxy when the cache lost it): the release's own manifests come from there."""
    go = shutil.which("go")
    if go is None:
        raise ToolMissing("Go is not installed; the box reads Argo CD's install manifests from its Go module")
    done = subprocess.run([go, "mod", "download", "-json", module], cwd=build_script().parent / "argocd",
                          capture_output=True, text=True)
    try:
        directory = Path(json.loads(done.stdout)["Dir"])
    except (ValueError, KeyError) as error:
        raise SandboxError(f"argocd: cannot find the source of {module} (go mod download in cluster/argocd): "
                           f"{done.stderr.strip() or done.stdout.strip()}") from error
    if done.returncode != 0 or not directory.is_dir():
        raise SandboxError(f"argocd: cannot find the source of {module}: {done.stdout.strip()} {done.stderr.strip()}")
    return directory


def health_customizations(instances: list[dict[str, Any]]) -> dict[str, str]:
    """argocd-cm's keys for the health checks of `ArgoCD` objects, as the operator names them."""
    found: dict[str, str] = {}
    for instance in instances:
        for check in instance.get("spec", {}).get("resourceHealthChecks") or []:
            group = check.get("group") or ""
            found[HEALTH_PREFIX + (f"{group}_" if group else "") + check["kind"]] = check["check"]
    return found


def repository_secret(namespace: str, name: str, url: str) -> dict[str, Any]:
    """A repository Argo CD knows by `url` (no credentials: the box's Git server is open on loopback)."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {**PART_OF, "argocd.argoproj.io/secret-type": "repository"}},
            "type": "Opaque", "stringData": {"type": "git", "url": url, "name": name}}


def _apply_crds(box: Box, crd_dirs: list[Path]) -> None:
    """The CRDs of Application and AppProject and the operator's ArgoCD CRD from the upstream copies, Established
    (the box's prerequisites make only the CRDs of the groups the tree syncs). The controller needs no other."""
    documents = [d for d in crd_documents(crd_dirs, {ARGO_GROUP}) if d["spec"]["names"]["kind"] in ARGO_KINDS]
    kinds = {d["spec"]["names"]["kind"] for d in documents}
    if kinds != ARGO_KINDS:
        raise SandboxError(f"argocd: the CRDs of {', '.join(sorted(ARGO_KINDS - kinds))} are not in "
                           f"{', '.join(map(str, crd_dirs))}")
    establish_crds(box, documents)


def _redis_pong(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(b"PING\r\n")
        return connection.recv(16).startswith(b"+PONG")


def _http_ok(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    finally:
        connection.close()

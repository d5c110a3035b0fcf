"""The core of the box: etcd, the Kubernetes 1.33 API server, controller manager and scheduler, and kwok.

Each runs as a real cluster runs it, with the differences a box on loopback needs and nothing else:
- the API server serves on 127.0.0.1 only, authenticates by client certificates of the box's CA and
  service-account tokens, authorizes with Node and RBAC, and admits with the default plugins plus
  NodeRestriction, with API aggregation's front proxy, as kubeadm runs it; there are no kubelets, so
  nothing proxies to a node (no logs, no exec);
- the controller manager and the scheduler run as the users the RBAC bootstrap policy binds
  (system:kube-controller-manager, system:kube-scheduler), each controller with its own service account;
  no leader election (one of each);
- kwok plays the kubelets of the Nodes annotated `kwok.x-k8s.io/node: fake` (generator.sandbox.nodes makes
  them): Nodes Ready, pods Running and Ready, pods of a Job Succeeded. A pod the scheduler has not bound
  (a scheduling-gated one, or one that fits no node) has no node, so kwok never touches it.
"""

from __future__ import annotations

import json
import ssl
import urllib.request

from generator.sandbox.box import Box, Component

SERVICE_CIDR = "172.30.0.0/16"  # OpenShift's default service network
POD_CIDR = "10.128.0.1/14"  # OpenShift's default cluster network; kwok hands pod IPs out of it
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_VALUE = "fake"

START_TIMEOUT = 120.0  # seconds; a cold API server on a busy 2-core machine takes tens of them


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    with urllib.request.urlopen(url, context=context, timeout=5) as answer:
        return bool(answer.status == 200)


def _unverified() -> ssl.SSLContext:
    """The controller manager and scheduler serve /healthz with a certificate they make themselves at start."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Etcd:
    """A single-member etcd (embedded from go.etcd.io/etcd/server/v3, cluster/kube/etcd), plain HTTP on loopback."""

    name = "etcd"

    def start(self, box: Box) -> None:
        client = box.port("etcd")
        box.spawn(self.name, [str(box.binary("etcd")), f"--data-dir={box.data_dir('etcd')}",
                              f"--listen-client-url=http://127.0.0.1:{client}",
                              f"--listen-peer-url=http://127.0.0.1:{box.port('etcd-peer')}"])

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{client}/health", timeout=5) as answer:
                return bool(json.loads(answer.read()).get("health") == "true")

        box.wait_until(self.name, healthy, START_TIMEOUT, what="healthy")


class KubeApiServer:
    """kube-apiserver on https://127.0.0.1:<port>; writes the box's admin kubeconfig once it is ready."""

    name = "kube-apiserver"

    def start(self, box: Box) -> None:
        certs = box.certs
        serving = certs.api_server()
        proxy = certs.client("front-proxy-client", "front-proxy-client", [])
        service_account_key = certs.service_account_key()
        work = box.data_dir(self.name)
        box.spawn(self.name, [
            str(box.binary("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{box.port('etcd')}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={box.port(self.name)}",
            f"--cert-dir={work}", f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={certs.ca.cert}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={certs.service_account_public_key()}",
            f"--service-account-signing-key-file={service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            # The front proxy of API aggregation, as kubeadm configures it (the controllers' authentication reads it).
            f"--requestheader-client-ca-file={certs.ca.cert}", "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={proxy.cert}", f"--proxy-client-key-file={proxy.key}",
            "--allow-privileged=true",
            # No kubelet answers on 127.0.0.1; the lease reconciler would publish a loopback Endpoints for the
            # `kubernetes` Service, which nothing in the box reads.
            "--endpoint-reconciler-type=none",
            "--profiling=false", "--v=1",
        ])
        box.write_admin_kubeconfig()
        box.wait_until(self.name, lambda: box.request("GET", "/readyz")[0] == 200, START_TIMEOUT, what="ready (/readyz)")


class KubeControllerManager:
    """kube-controller-manager with every default controller; each controller uses its own service account."""

    name = "kube-controller-manager"

    def start(self, box: Box) -> None:
        certs = box.certs
        kubeconfig = box.kubeconfig_for(self.name, "system:kube-controller-manager", [])
        port = box.port(self.name)
        box.spawn(self.name, [
            str(box.binary("kube-controller-manager")),
            f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={box.data_dir(self.name)}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={certs.service_account_key()}", f"--root-ca-file={certs.ca.cert}",
            f"--cluster-signing-cert-file={certs.ca.cert}", f"--cluster-signing-key-file={certs.ca.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
            "--kube-api-qps=100", "--kube-api-burst=200", "--profiling=false", "--v=1",
        ])
        box.wait_until(self.name, lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", _unverified()), START_TIMEOUT,
                       what="healthy")


class KubeScheduler:
    """kube-scheduler with the default profile (NodeResourcesFit, TaintToleration, NodeAffinity, VolumeBinding...)."""

    name = "kube-scheduler"

    def start(self, box: Box) -> None:
        kubeconfig = box.kubeconfig_for(self.name, "system:kube-scheduler", [])
        port = box.port(self.name)
        box.spawn(self.name, [
            str(box.binary("kube-scheduler")),
            f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={box.data_dir(self.name)}",
            "--leader-elect=false", "--profiling=false", "--v=1",
        ])
        box.wait_until(self.name, lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", _unverified()), START_TIMEOUT,
                       what="healthy")


class Kwok:
    """kwok with its default stages: Nodes Ready (with a lease), pods Running and Ready, Job pods Succeeded."""

    name = "kwok"

    def start(self, box: Box) -> None:
        port = box.port(self.name)
        config = box.data_dir(self.name) / "kwok.yaml"
        # An empty configuration: kwok then uses its built-in stages, and never reads the user's ~/.kwok.
        config.write_text("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n",
                          encoding="utf-8")
        box.spawn(self.name, [
            str(box.binary("kwok")), f"--config={config}", f"--kubeconfig={box.kubeconfig}",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}={KWOK_NODE_VALUE}",
            "--node-lease-duration-seconds=40", f"--cidr={POD_CIDR}", f"--server-address=127.0.0.1:{port}",
        ])
        box.wait_until(self.name, lambda: _http_ok(f"http://127.0.0.1:{port}/healthz"), START_TIMEOUT, what="healthy")


def core() -> list[Component]:
    """The core components in the order they must start."""
    return [Etcd(), KubeApiServer(), KubeControllerManager(), KubeScheduler(), Kwok()]

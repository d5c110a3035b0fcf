"""Kueue in the box: the real manager (sigs.k8s.io/kueue, pinned in cluster/kueue) configured as the Red Hat build
of Kueue configures it for OpenShift AI, with its webhooks served on loopback.

What OpenShift AI's Kueue operator sets, and the box sets the same way:
- integrations `batch/job`, `pod` and `deployment` (KServe's RawDeployment predictors are Deployments whose pods
  Kueue gates one by one);
- `managedJobsNamespaceSelector` matching `kueue.openshift.io/managed=true` and `manageJobsWithoutQueueName: false`:
  only labelled namespaces are managed, and only workloads that name a queue (a LocalQueue annotated
  `kueue.x-k8s.io/default-queue` names one for every workload of its namespace);
- the webhooks of the enabled integrations and of Kueue's own kinds, from the module's config/components/webhook,
  the namespaced ones narrowed to managed namespaces as the operator narrows them; leader election off.

Where the box differs from a cluster, and why:
- Kueue's manager reads a metrics certificate from a fixed path (/etc/kueue/metrics/certs) whenever its internal
  certificate management is off (cmd/kueue/main.go), which a process on loopback cannot provide without root.
  So internal certificate management stays on, and the box seeds the Secret it manages with a CA and a serving
  certificate the box makes (valid for the webhook Service's name, which Kueue checks, and for 127.0.0.1, which the
  API server dials): Kueue finds them valid, keeps them and injects that CA into the webhook configurations and
  the conversion webhooks, which the box points at https://127.0.0.1:<port>. The metrics server is off.
- CRDs the pinned Kueue watches but ../shared/crds lacks (AdmissionCheck, Topology, MultiKueue, ...) are applied
  from the module's config/components/crd/bases; the conversion webhook is set on the CRDs Kueue's own
  kustomization sets it on (v1beta1 objects, as the generator writes them, are converted by Kueue).
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError, ToolMissing

MANAGED_LABEL = "kueue.openshift.io/managed"
NAMESPACE = "kueue-system"
FRAMEWORKS = ("batch/job", "pod", "deployment")

# The names Kueue derives from its defaults (apis/config/v1beta2/defaults.go, pkg/util/cert/cert.go): the rotator
# checks the serving certificate against the Service's DNS name and updates webhook configurations by these names.
_SERVICE = "kueue-webhook-service"
_SECRET = "kueue-webhook-server-cert"
_CA_NAME = "kueue-ca"
_CONFIGURATION_NAMES = {"MutatingWebhookConfiguration": "kueue-mutating-webhook-configuration",
                        "ValidatingWebhookConfiguration": "kueue-validating-webhook-configuration"}
# The CRDs Kueue's kustomization gives a conversion webhook (config/components/crd/kustomization.yaml).
_CONVERTED = ("localqueues", "clusterqueues", "cohorts", "workloads", "multikueueclusters")
# The webhook of an integration is named after its kind (`m<kind>.kb.io`, `v<kind>.kb.io`).
_FRAMEWORK_WEBHOOK = {"batch/job": "job", "pod": "pod", "deployment": "deployment", "statefulset": "statefulset"}
_CLUSTER_SCOPED = ("clusterqueue", "resourceflavor", "cohort")
_NAMESPACED_OWN = ("workload",)
# Kueue's rotator renews a certificate that expires within 90 days (cert-controller's lookahead); a year is ample.
_CERT_VALID = datetime.timedelta(days=365)

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "cluster"
_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Kueue:
    """Kueue's manager, started against the box's API server with the admin kubeconfig."""

    name = "kueue"

    def __init__(self, frameworks: Iterable[str] = FRAMEWORKS) -> None:
        self.frameworks = tuple(frameworks)

    def start(self, box: Box) -> None:
        source = module_dir("kueue", "sigs.k8s.io/kueue")
        data = box.data_dir(self.name)
        webhook_port, health_port = box.port("kueue-webhook"), box.port("kueue-health")
        base_url = f"https://127.0.0.1:{webhook_port}"

        apply_missing_crds(box, sorted((source / "config/components/crd/bases").glob("*.yaml")))
        box.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
        ca_pem = _seed_certificates(box, data / "certs")
        box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                    input=yaml.safe_dump_all(self.webhook_configurations(source, base_url, ca_pem)))
        for plural in _CONVERTED:
            point_conversion(box, f"{plural}.kueue.x-k8s.io", f"{base_url}/convert", ca_pem)

        config = data / "configuration.yaml"
        config.write_text(yaml.safe_dump(self.configuration(webhook_port, health_port, data / "certs"), sort_keys=False),
                          encoding="utf-8")
        box.spawn(self.name, [str(box.binary("kueue")), f"--config={config}", f"--kubeconfig={box.kubeconfig}"])
        box.wait_until(self.name, lambda: http_ok(f"http://127.0.0.1:{health_port}/readyz"), timeout=120,
                       what="ready (readyz: its webhook server started)")
        box.wait_until(self.name, lambda: https_answers(webhook_port, ca_pem), timeout=30,
                       what="serving its webhooks on 127.0.0.1 with the box's certificate")
        box.wait_until(self.name, lambda: _ca_injected(box, ca_pem), timeout=60,
                       what="done injecting its CA into its webhook configurations")

    def configuration(self, webhook_port: int, health_port: int, cert_dir: Path) -> dict[str, Any]:
        """Kueue's Configuration (config.kueue.x-k8s.io/v1beta2) as the box runs it."""
        return {
            "apiVersion": "config.kueue.x-k8s.io/v1beta2",
            "kind": "Configuration",
            "namespace": NAMESPACE,
            "manageJobsWithoutQueueName": False,
            "managedJobsNamespaceSelector": {"matchLabels": {MANAGED_LABEL: "true"}},
            "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
            "metrics": {"bindAddress": "0"},
            "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
            "leaderElection": {"leaderElect": False},
            "internalCertManagement": {"enable": True, "webhookServiceName": _SERVICE, "webhookSecretName": _SECRET},
            "clientConnection": {"qps": 50, "burst": 100},
            "integrations": {"frameworks": list(self.frameworks)},
            # The on-demand visibility API is an aggregated API server of its own; nothing in the box reads it.
            "featureGates": {"VisibilityOnDemand": False},
        }

    def webhook_configurations(self, source: Path, base_url: str, ca_pem: bytes) -> list[dict[str, Any]]:
        """Kueue's Mutating/ValidatingWebhookConfigurations from the module (its kustomization applied), keeping
        the webhooks of the enabled integrations and of Kueue's own kinds, served at `base_url`."""
        rendered = kustomize(source / "config/components/webhook")
        kept = {_FRAMEWORK_WEBHOOK[f] for f in self.frameworks if f in _FRAMEWORK_WEBHOOK}
        kept |= set(_CLUSTER_SCOPED) | set(_NAMESPACED_OWN)
        configurations = []
        for document in rendered:
            if document.get("kind") not in _CONFIGURATION_NAMES:
                continue
            webhooks = [w for w in document["webhooks"] if _webhook_kind(w["name"]) in kept]
            for webhook in webhooks:
                if _webhook_kind(webhook["name"]) not in _CLUSTER_SCOPED:
                    webhook["namespaceSelector"] = _with_managed(webhook.get("namespaceSelector"))
            document["metadata"] = {"name": _CONFIGURATION_NAMES[document["kind"]]}
            document["webhooks"] = point_webhooks(webhooks, base_url, ca_pem)
            configurations.append(document)
        return configurations


def _webhook_kind(name: str) -> str:
    """`mpod.kb.io` -> `pod`."""
    return name.removesuffix(".kb.io")[1:]


def _with_managed(selector: dict[str, Any] | None) -> dict[str, Any]:
    """`selector` narrowed to namespaces labelled managed, as OpenShift AI's Kueue operator narrows it."""
    merged = dict(selector or {})
    expressions = [e for e in merged.get("matchExpressions", []) if e.get("key") != MANAGED_LABEL]
    merged["matchExpressions"] = [{"key": MANAGED_LABEL, "operator": "In", "values": ["true"]}, *expressions]
    return merged


def _seed_certificates(box: Box, cert_dir: Path) -> bytes:
    """A CA and a serving certificate in the form Kueue's rotator accepts and keeps (an RSA CA named kueue-ca,
    a leaf for the webhook Service's name and 127.0.0.1), written to Kueue's Secret and certificate directory.
    Returns the CA certificate (PEM)."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kueue"),
                            x509.NameAttribute(NameOID.COMMON_NAME, _CA_NAME)])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_subject).issuer_name(ca_subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + _CERT_VALID)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(_CA_NAME)]), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dns = f"{_SERVICE}.{NAMESPACE}.svc"
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)]))
            .issuer_name(ca_subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + _CERT_VALID)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    # The rotator parses the CA key as PKCS#1 ("RSA PRIVATE KEY"), cert-controller's buildArtifactsFromSecret.
    pkcs1 = serialization.PrivateFormat.TraditionalOpenSSL
    files = {
        "ca.crt": ca_cert.public_bytes(serialization.Encoding.PEM),
        "ca.key": ca_key.private_bytes(serialization.Encoding.PEM, pkcs1, serialization.NoEncryption()),
        "tls.crt": cert.public_bytes(serialization.Encoding.PEM),
        "tls.key": key.private_bytes(serialization.Encoding.PEM, pkcs1, serialization.NoEncryption()),
    }
    for name, content in files.items():
        path = cert_dir / name
        path.touch(mode=0o600)
        path.write_bytes(content)
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": _SECRET, "namespace": NAMESPACE},
              "data": {name: base64.b64encode(content).decode() for name, content in files.items()}}
    box.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump(secret))
    return files["ca.crt"]


def _ca_injected(box: Box, ca_pem: bytes) -> bool:
    """Kueue's rotator has checked its Secret and written its CA into both webhook configurations."""
    bundle = base64.b64encode(ca_pem).decode()
    for kind, name in _CONFIGURATION_NAMES.items():
        status, found = box.request("GET", f"/apis/admissionregistration.k8s.io/v1/{kind.lower()}s/{name}")
        if status != 200 or any(w["clientConfig"].get("caBundle") != bundle for w in found.get("webhooks", [])):
            return False
    return True


# --- helpers KServe's component uses too (they touch nothing but the box's API and loopback) -----------------------

def module_dir(component: str, module: str) -> Path:
    """Where the Go module cache holds `module` at the version cluster/<component>/go.mod pins: its config/ folder
    (CRDs, webhook manifests) belongs to the same release as the binary cluster/build made."""
    go = shutil.which("go")
    if go is None:
        raise ToolMissing("Go is not installed; the box reads its components' manifests from their Go modules")
    done = subprocess.run([go, "list", "-m", "-f", "{{.Dir}}", module], cwd=CLUSTER_DIR / component, capture_output=True,
                          text=True)
    directory = Path(done.stdout.strip())
    if done.returncode != 0 or not done.stdout.strip() or not directory.is_dir():
        raise SandboxError(f"{component}: cannot find the source of {module} in the Go module cache "
                           f"(go list -m in cluster/{component}): {done.stderr.strip()}; cluster/build downloads it")
    return directory


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize directory`, parsed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ToolMissing("kubectl is not installed; the box is driven with kubectl (https://kubernetes.io/docs/tasks/tools/)")
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"kubectl kustomize {directory}: {done.stderr.strip()}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def point_webhooks(webhooks: list[dict[str, Any]], base_url: str, ca_pem: bytes) -> list[dict[str, Any]]:
    """The webhooks with their Service reference replaced by `base_url` + the same path, trusting `ca_pem`."""
    bundle = base64.b64encode(ca_pem).decode()
    for webhook in webhooks:
        path = webhook["clientConfig"].get("service", {}).get("path", "")
        webhook["clientConfig"] = {"url": base_url + path, "caBundle": bundle}
    return webhooks


def point_conversion(box: Box, crd: str, url: str, ca_pem: bytes) -> None:
    """Give `crd` a conversion webhook at `url` (when the CRD is installed)."""
    patch = {"spec": {"conversion": {"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": url, "caBundle": base64.b64encode(ca_pem).decode()},
        "conversionReviewVersions": ["v1"]}}}}
    status, body = box.request("PATCH", f"{_CRDS}/{crd}", patch, content_type="application/merge-patch+json")
    if status not in (200, 404):
        raise SandboxError(f"kueue: cannot set the conversion webhook of {crd}: {status} {body}")


def apply_missing_crds(box: Box, files: Iterable[Path]) -> list[str]:
    """Apply the CRDs among `files` that the box does not have yet (../shared/crds wins where both have one), wait
    until they are established, and return their names."""
    status, listed = box.request("GET", _CRDS)
    if status != 200:
        raise SandboxError(f"cannot list the box's CRDs: {status} {listed}")
    installed = {c["metadata"]["name"] for c in listed.get("items", [])}
    missing: list[dict[str, Any]] = []
    for path in files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document and document.get("kind") == "CustomResourceDefinition" and document["metadata"]["name"] not in installed:
                missing.append(document)
    if missing:
        box.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(missing))
        names = [d["metadata"]["name"] for d in missing]
        box.kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in names))
    return [d["metadata"]["name"] for d in missing]


def http_ok(url: str) -> bool:
    """A plain-HTTP GET of `url` answers 200 (a controller manager's health endpoint)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    address, _, port = host.partition(":")
    connection = http.client.HTTPConnection(address, int(port), timeout=2)
    try:
        connection.request("GET", "/" + rest)
        return connection.getresponse().status == 200
    finally:
        connection.close()


def https_answers(port: int, ca_pem: bytes, host: str = "127.0.0.1") -> bool:
    """A TLS server on `host:port` presents a certificate for `host` that `ca_pem` signed, and answers HTTP."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    with socket.create_connection((host, port), timeout=2) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return tls.recv(12).startswith(b"HTTP/1.")

"""What the cluster must already have before Argo CD applies the tree (README "What the cluster must already
have"), made in the box: namespaces, the Secrets the tree names (with fake values: the box never holds a real
secret, and nothing in it can reach S3 or Hugging Face), the `storage-config` entry odh-model-controller
would build from the data connection, the tree's StorageClass with a PersistentVolume for each of its
PersistentVolumeClaims, and the upstream CRDs, Established.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from generator.model.derive import serving_namespaces
from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.apply import RestMapper, server_side_apply
from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError

FIELD_MANAGER = "gpuaas-sandbox-prerequisites"
MANAGED_LABEL = "kueue.openshift.io/managed"
FAKE = "box-fake-not-a-secret"
# The box pre-provisions its volumes (nothing provisions on demand), and binds a claim once a pod uses it, as
# the gp3-csi class of an OpenShift cluster on AWS does.
PROVISIONER = "kubernetes.io/no-provisioner"
BINDING_MODE = "WaitForFirstConsumer"


def tree_documents(tree: Tree) -> list[dict[str, Any]]:
    return [d for docs in tree.values() for d in docs if d.get("kind") != "Kustomization"]


def namespaces(portfolio: Portfolio, tree: Tree) -> list[dict[str, Any]]:
    """The namespaces the tree uses, the serving ones labelled for Kueue's management. A team's namespace, which
    the tree creates too, is made here first: its Secrets must be in place before the tree's models need them,
    as an administrator prepares them; the tree's apply then takes over the namespace's labels."""
    documents = tree_documents(tree)
    serving = set(serving_namespaces(portfolio))
    wanted = {portfolio.namespace, portfolio.storage.s3.upload_namespace, portfolio.model_registry.namespace,
              portfolio.cluster.hardware_profile_namespace, portfolio.gitops.argocd_namespace, *serving}
    wanted |= {d["metadata"]["namespace"] for d in documents if d["metadata"].get("namespace")}
    result = []
    for name in sorted(wanted):
        labels = {MANAGED_LABEL: "true"} if name in serving else {}
        result.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    return result


def _secret(name: str, namespace: str, data: dict[str, str], *, labels: dict[str, str] | None = None,
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "stringData": data}


def secrets(portfolio: Portfolio) -> list[dict[str, Any]]:
    """The connection Secrets with fake values, and `storage-config` as odh-model-controller builds it."""
    s3 = portfolio.storage.s3
    result = []
    for namespace in serving_namespaces(portfolio):
        result.append(_secret(s3.connection_secret, namespace, {
            "AWS_ACCESS_KEY_ID": FAKE, "AWS_SECRET_ACCESS_KEY": FAKE, "AWS_S3_ENDPOINT": str(s3.endpoint),
            "AWS_S3_BUCKET": s3.bucket, "AWS_DEFAULT_REGION": "us-east-1",
        }, labels={"opendatahub.io/managed": "true", "opendatahub.io/dashboard": "true"},
            annotations={"opendatahub.io/connection-type": "s3"}))
        # The entry KServe's storage initializer reads for `storage.key: <connection>`.
        entry = {"type": "s3", "access_key_id": FAKE, "secret_access_key": FAKE, "endpoint_url": str(s3.endpoint),
                 "bucket": s3.bucket, "region": "us-east-1"}
        result.append(_secret("storage-config", namespace, {s3.connection_secret: json.dumps(entry, sort_keys=True)}))
    result.append(_secret(s3.credentials_secret, s3.upload_namespace,
                          {"AWS_ACCESS_KEY_ID": FAKE, "AWS_SECRET_ACCESS_KEY": FAKE}))
    result.append(_secret(portfolio.hugging_face.token_secret, s3.upload_namespace, {portfolio.hugging_face.token_key: FAKE}))
    return result


def storage(portfolio: Portfolio, tree: Tree) -> list[dict[str, Any]]:
    """The tree's StorageClass and one PersistentVolume per claim of it, as large as the claim asks."""
    name = portfolio.storage.s3.storage_class
    result: list[dict[str, Any]] = [{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
                                     "provisioner": PROVISIONER, "volumeBindingMode": BINDING_MODE,
                                     "reclaimPolicy": "Delete"}]
    claims = [d for d in tree_documents(tree) if d.get("kind") == "PersistentVolumeClaim"]
    for claim in claims:
        spec = claim["spec"]
        if spec.get("storageClassName", name) != name:
            continue
        volume = f"box-{claim['metadata']['namespace']}-{claim['metadata']['name']}"[:253]
        result.append({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
            "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                     "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "storageClassName": name, "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": f"/var/lib/box/{volume}", "type": "DirectoryOrCreate"}},
        })
    return result


def crd_files(crd_dirs: list[Path]) -> list[Path]:
    files = sorted(p for d in crd_dirs for p in d.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise SandboxError(f"no CRD files in {', '.join(map(str, crd_dirs))}; pass --crd-dir with the upstream CRDs")
    return files


def _cache_dir() -> Path:
    root = os.environ.get("GPUAAS_GENERATOR_CACHE") or str(Path.home() / ".cache" / "gpuaas-generator")
    return Path(root) / "sandbox-crds"


def _load_crds(path: Path) -> list[dict[str, Any]]:
    """The CRDs of one file, parsed once per content: YAML of megabytes takes seconds, its JSON milliseconds."""
    content = path.read_bytes()
    cached = _cache_dir() / f"{hashlib.sha256(content).hexdigest()}.json"
    try:
        return list(json.loads(cached.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    found = [d for d in yaml.load_all(content, Loader=loader) if d and d.get("kind") == "CustomResourceDefinition"]
    try:  # a cache that cannot be written only costs time
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cached.parent, prefix=".crds-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(found, out)
        os.replace(temporary, cached)
    except OSError:
        pass
    return found


def crd_documents(crd_dirs: list[Path], groups: set[str] | None = None) -> list[dict[str, Any]]:
    """The CRDs in `crd_dirs`, only those of `groups` when given."""
    return [d for path in crd_files(crd_dirs) for d in _load_crds(path) if groups is None or d["spec"]["group"] in groups]


def synced_groups(portfolio: Portfolio, tree: Tree) -> set[str]:
    """The API groups of what the Application syncs: the CRDs of these groups are the ones the tree needs (the
    Argo CD component applies Argo CD's own)."""
    from generator.sandbox.apply import application_documents

    return {str(d["apiVersion"]).rpartition("/")[0] for d in application_documents(tree, portfolio.gitops.application)}


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def establish_crds(box: Box, crds: list[dict[str, Any]], timeout: float = 180) -> None:
    """Create the CRDs one at a time (a plain create: the box is new, and creating a CRD of megabytes costs the API
    server far less than applying it; in parallel they starve each other on 2 cores), apply one that exists, and
    wait until each is Established."""
    for crd in crds:
        name = crd["metadata"]["name"]
        for attempt in range(3):
            status, body = box.request("POST", CRDS, crd, timeout=150)
            if status == 409:
                status, body = box.request("PATCH", f"{CRDS}/{name}?fieldManager={FIELD_MANAGER}&force=true", crd,
                                           content_type="application/apply-patch+yaml", timeout=150)
            # A starved API server may time a large CRD out and store it anyway, or not: ask again.
            if status != 504 or attempt == 2:
                break
        if status not in (200, 201):
            raise SandboxError(f"prerequisites: the API server refused CRD {name}: {_message(body)}")
    pending = [c["metadata"]["name"] for c in crds]

    def established() -> bool:
        for name in list(pending):
            _, live = box.request("GET", f"{CRDS}/{name}")
            conditions = (live.get("status") or {}).get("conditions") or [] if isinstance(live, dict) else []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                pending.remove(name)
        return not pending

    box.wait_until("kube-apiserver", established, timeout, what=f"serving the {len(crds)} CRDs (Established)")


def _message(body: Any) -> str:
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else str(body)


def apply_documents(box: Box, documents: list[dict[str, Any]], manager: str = FIELD_MANAGER) -> None:
    """Server-side apply of documents that do not depend on each other, a few at a time."""
    mapper = RestMapper(box)
    for doc in documents[:1]:  # discovery of the kinds, once, before the threads share the mapper
        server_side_apply(box, doc, manager, mapper)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda doc: server_side_apply(box, doc, manager, mapper), documents[1:]))


class Prerequisites:
    """A component: the CRDs first (Established), then namespaces, Secrets, the StorageClass and its volumes."""

    name = "prerequisites"

    def __init__(self, portfolio: Portfolio, tree: Tree, crd_dirs: list[Path]) -> None:
        self.portfolio, self.tree, self.crd_dirs = portfolio, tree, crd_dirs

    def start(self, box: Box) -> None:
        start = time.monotonic()
        crds = crd_documents(self.crd_dirs, synced_groups(self.portfolio, self.tree))
        establish_crds(box, crds)
        box.progress(f"prerequisites: {len(crds)} CRDs Established in {time.monotonic() - start:.1f} s")
        start = time.monotonic()
        made = namespaces(self.portfolio, self.tree)
        apply_documents(box, made)
        rest = secrets(self.portfolio) + storage(self.portfolio, self.tree)
        apply_documents(box, rest)
        box.progress(f"prerequisites: {len(made)} namespaces, {len(rest)} Secrets and storage objects in "
                     f"{time.monotonic() - start:.1f} s")

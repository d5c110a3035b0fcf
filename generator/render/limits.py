"""What the API server accepts, in bytes and characters: the limits the tree is rendered (and checked) against.

Sizes are those of the JSON the API server receives. Argo CD applies client-side, as `kubectl apply` does: it copies
the whole object, as JSON, into the annotation kubectl.kubernetes.io/last-applied-configuration, and the API server
limits an object's annotations to 256 KiB in total. So an object whose JSON approaches 256 KiB fails to sync long
before etcd's 1.5 MiB request limit or the 1 MiB of a ConfigMap's data.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

REQUEST_BYTES = 1536 * 1024  # etcd's default --max-request-bytes: a larger object is refused on write
DATA_BYTES = 1024 * 1024  # a ConfigMap's or a Secret's data and binaryData together
ANNOTATIONS_BYTES = 256 * 1024  # every key and value of an object's annotations together
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LABEL_VALUE_CHARS = 63
DNS_LABEL_CHARS = 63
DNS_SUBDOMAIN_CHARS = 253


def wire_json(document: dict[str, Any]) -> str:
    """The object as Go's encoding/json writes it: compact, keys sorted, <, > and & escaped."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def annotations_bytes(document: dict[str, Any], *, applied_by_client: bool = True) -> int:
    """The size the API server counts for the object's annotations; applied client-side, with the last-applied
    configuration (the object's JSON without that annotation) among them."""
    annotations = (applied(document) if applied_by_client else document).get("metadata", {}).get("annotations") or {}
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())


def applied(document: dict[str, Any]) -> dict[str, Any]:
    """The object as client-side apply sends it: with its own JSON in the last-applied-configuration annotation."""
    metadata = {k: v for k, v in (document.get("metadata") or {}).items() if k != "annotations"}
    annotations = {k: v for k, v in ((document.get("metadata") or {}).get("annotations") or {}).items() if k != LAST_APPLIED}
    original = {**document, "metadata": {**metadata, **({"annotations": annotations} if annotations else {})}}
    return {**document, "metadata": {**metadata, "annotations": {**annotations, LAST_APPLIED: wire_json(original)}}}


def object_bytes(document: dict[str, Any], *, applied_by_client: bool = True) -> int:
    """The request the API server passes to etcd: the object's JSON, with its last-applied copy when applied client-side."""
    return len(wire_json(applied(document) if applied_by_client else document).encode())


def data_bytes(document: dict[str, Any]) -> int:
    """What the API server counts against a ConfigMap's or Secret's 1 MiB: the bytes of every value."""
    total = 0
    for key in ("data", "binaryData", "stringData"):
        for value in (document.get(key) or {}).values():
            encoded = str(value).encode()
            if key == "binaryData" or (key == "data" and document.get("kind") == "Secret"):
                try:
                    total += len(base64.b64decode(encoded, validate=True))
                    continue
                except (binascii.Error, ValueError):
                    pass
            total += len(encoded)
    return total

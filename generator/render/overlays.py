"""An environment's kustomize overlay: the base plus exactly what differs on that cluster, as JSON patches
(RFC 6902) computed from the two rendered trees, so the overlay can never disagree with the environment's
portfolio. A reviewer reads a changed quota as one `replace` line."""

from __future__ import annotations

from typing import Any

import yaml

from generator.render.common import Document, Tree

Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


def _key(doc: Document) -> Key:
    meta = doc.get("metadata") or {}
    return str(doc.get("apiVersion", "")), str(doc.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_patch(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """The operations that turn `old` into `new`: key by key in maps, item by item in lists of equal length,
    whole values elsewhere."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = [{"op": "remove", "path": _pointer((*path, k))} for k in old if k not in new]
        for k, value in new.items():
            if k not in old:
                ops.append({"op": "add", "path": _pointer((*path, k)), "value": value})
            else:
                ops += json_patch(old[k], value, (*path, k))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [op for i, (a, b) in enumerate(zip(old, new, strict=True)) for op in json_patch(a, b, (*path, i))]
    return [{"op": "replace", "path": _pointer(path), "value": new}]


def _target(key: Key) -> dict[str, str]:
    api_version, kind, namespace, name = key
    group, _, version = api_version.rpartition("/")
    target = {"group": group, "version": version, "kind": kind, "name": name}
    if namespace:
        target["namespace"] = namespace
    return {k: v for k, v in target.items() if v or k == "group"}


def _text(patch: Any) -> str:
    """kustomize reads an inline patch as text."""
    return str(yaml.safe_dump(patch, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096))


def overlay(base: Tree, env: Tree, *, base_dir: str) -> tuple[Document, list[Document]]:
    """(the overlay's Kustomization, the documents only the environment has)."""
    old = {_key(d): d for docs in base.values() for d in docs if d.get("kind") != "Kustomization"}
    new = {_key(d): d for docs in env.values() for d in docs if d.get("kind") != "Kustomization"}
    patches: list[Document] = []
    for key in sorted(old.keys() & new.keys()):
        ops = json_patch(old[key], new[key])
        if ops:
            patches.append({"target": _target(key), "patch": _text(ops)})
    for key in sorted(old.keys() - new.keys()):
        api_version, kind, namespace, name = key
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        patches.append({"target": _target(key),
                        "patch": _text({"$patch": "delete", "apiVersion": api_version, "kind": kind, "metadata": meta})})
    added = [new[key] for key in sorted(new.keys() - old.keys())]
    kustomization: Document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base_dir, *(["added.yaml"] if added else [])],
    }
    if patches:
        kustomization["patches"] = patches
    return kustomization, added

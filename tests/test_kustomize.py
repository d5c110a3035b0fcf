"""Every kustomization root of the committed tree and of each fixture tree builds with kubectl."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT, VALID, kustomize, materialize, render_named


def _roots(base: Path) -> list[Path]:
    return sorted(p.parent for p in (base / "gitops").rglob("kustomization.yaml"))


def test_committed_tree_builds(kubectl: str) -> None:
    roots = _roots(ROOT)
    assert len(roots) == 8
    for folder in roots:
        result = kustomize(kubectl, folder)
        assert result.returncode == 0, f"{folder}: {result.stderr}"


def test_serving_base_contains_every_document(kubectl: str) -> None:
    built = list(yaml.safe_load_all(kustomize(kubectl, ROOT / "gitops/step-05-llm-on-vllm/base").stdout))
    kinds = sorted(d["kind"] for d in built)
    assert kinds.count("InferenceService") == 5
    assert kinds.count("Job") == 4 and kinds.count("PersistentVolumeClaim") == 3
    assert {"ClusterQueue", "LocalQueue", "ResourceFlavor", "ServingRuntime", "ConfigMap"} <= set(kinds)


@pytest.mark.parametrize("name", VALID)
def test_fixture_trees_build(kubectl: str, tmp_path: Path, name: str) -> None:
    root = materialize(render_named(name), tmp_path)
    roots = _roots(root)
    assert roots
    for folder in roots:
        result = kustomize(kubectl, folder)
        assert result.returncode == 0, f"{folder}: {result.stderr}"

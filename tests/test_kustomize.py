"""Every kustomization root of the committed tree and of each fixture tree builds with kubectl."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import VALID, kustomize, materialize, render_named


def _roots(base: Path) -> list[Path]:
    return sorted(p.parent for p in (base / "gitops").rglob("kustomization.yaml"))


def _tops(roots: list[Path]) -> list[Path]:
    """The roots no other root lists as a resource: building them builds every root below them (a root that fails
    alone fails each root that includes it), with one kubectl process per top instead of one per root."""
    included = {(folder / entry).resolve() for folder in roots
                for entry in yaml.safe_load((folder / "kustomization.yaml").read_text()).get("resources", [])}
    return [folder for folder in roots if folder.resolve() not in included]


def test_serving_base_contains_every_document(kubectl: str, tmp_path: Path) -> None:
    tree = render_named("default")
    root = materialize(tree, tmp_path)
    built = list(yaml.safe_load_all(kustomize(kubectl, root / "gitops/step-05-llm-on-vllm/base").stdout))
    expected = sorted(d["kind"] for path, docs in tree.items() if path.startswith("gitops/step-05-llm-on-vllm/")
                      for d in docs if d["kind"] != "Kustomization")
    assert sorted(d["kind"] for d in built) == expected
    assert expected.count("InferenceService") == 5 and expected.count("Job") == 4


@pytest.mark.parametrize("name", VALID)
def test_fixture_trees_build(kubectl: str, tmp_path: Path, name: str) -> None:
    root = materialize(render_named(name), tmp_path)
    roots = _roots(root)
    tops = _tops(roots)
    assert roots and tops
    for folder in tops:
        result = kustomize(kubectl, folder)
        assert result.returncode == 0, f"{folder}: {result.stderr}"

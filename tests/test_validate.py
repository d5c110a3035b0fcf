"""Emitted core-kind documents pass kubernetes-validate (strict, Kubernetes 1.33)."""

from __future__ import annotations

import copy

import pytest

from conftest import VALID, render_named
from generator.validate import validate_core, validate_tree_core


@pytest.mark.parametrize("name", ["default", *VALID])
def test_every_core_document_is_valid(name: str) -> None:
    report = validate_tree_core(render_named(name))
    assert report.diagnostics == []
    assert report.core_checked >= 2  # at least the registration ConfigMap and Job


def test_default_tree_checks_every_core_document() -> None:
    # 4 Jobs, 3 PVCs, 2 ConfigMaps
    assert validate_tree_core(render_named("default")).core_checked == 9


def test_a_misspelled_field_in_a_core_document_is_caught() -> None:
    tree = render_named("default")
    job = copy.deepcopy(tree["gitops/step-05-llm-on-vllm/base/model-registration/register-models.yaml"][0])
    job["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    core, problem = validate_core(job)
    assert core and problem is not None
    path, message = problem
    assert list(path) == ["spec", "template", "spec", "containers", 0]
    assert "imagePullPolicyy" in message

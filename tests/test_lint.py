"""Lint rules on the rendered tree, each with a failing case at its exact position in the emitted file."""

from __future__ import annotations

import copy

import pytest

from conftest import emitted_line, load_named, render_named
from generator.checks.lint import PORTFOLIO_LINTS, lint_tree
from generator.checks.validate import validate_tree

ISVC = "gitops/step-05-llm-on-vllm/base/inference/mistral-3-bf16.yaml"
UPLOAD = "gitops/step-05-llm-on-vllm/base/model-upload/upload-gpt-oss-20b.yaml"


@pytest.fixture
def tree():
    return copy.deepcopy(render_named("default"))


def only(tree, rule: str):
    loaded = load_named("default")
    report = validate_tree(tree, portfolio=loaded.portfolio, source=loaded.source)
    found = [d for d in report.diagnostics if d.rule == rule]
    assert len(found) == 1, report.diagnostics
    return found[0]


def test_clean_tree_has_no_lint_problems() -> None:
    for name in ("default", "minimal", "tiers"):
        assert lint_tree(render_named(name)) == []


def test_rolling_update_under_kueue(tree) -> None:
    tree[ISVC][0]["spec"]["predictor"]["deploymentStrategy"] = {"type": "RollingUpdate"}
    problem = only(tree, "KUEUE001")
    assert (problem.file, problem.line, problem.column, problem.path) == (ISVC, emitted_line(tree, ISVC, "  predictor:"), 3,
                                                                          "spec.predictor")
    assert "Recreate" in problem.message and problem.message.startswith("InferenceService/private-ai/mistral-3-bf16:")
    from conftest import DEMO, line_of

    assert problem.origin == f"portfolio.yaml:{line_of(DEMO, '  - name: mistral-3-bf16')}:5 models[0]"


def test_queue_label_without_local_queue(tree) -> None:
    tree[ISVC][0]["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = "gpu"
    problem = only(tree, "KUEUE002")
    assert (problem.line, problem.column) == (emitted_line(tree, ISVC, "    kueue.x-k8s.io/queue-name: gpu"), 5)
    assert problem.path == 'metadata.labels["kueue.x-k8s.io/queue-name"]'


def test_literal_secret_value(tree) -> None:
    env = tree[UPLOAD][1]["spec"]["template"]["spec"]["containers"][0]["env"]
    env[7] = {"name": "AWS_ACCESS_KEY_ID", "value": "minio"}
    problem = only(tree, "SEC001")
    assert problem.path == "spec.template.spec.containers[0].env[7].value"
    assert (problem.file, problem.line, problem.column) == (UPLOAD, emitted_line(tree, UPLOAD, "          value: minio"), 11)


def test_floating_image(tree) -> None:
    tree[UPLOAD][1]["spec"]["template"]["spec"]["containers"][0]["image"] = "python:3.11-slim"
    problem = only(tree, "IMG001")
    assert problem.path == "spec.template.spec.containers[0].image"
    assert (problem.line, problem.column) == (emitted_line(tree, UPLOAD, "        image: python:3.11-slim"), 9)


def test_every_portfolio_lint_has_a_failing_fixture() -> None:
    from conftest import PORTFOLIOS

    rules = {line.split()[1] for case in (PORTFOLIOS / "invalid").glob("lint-*/expected.txt")
             for line in case.read_text().splitlines()}
    rules |= {line.split()[2] for case in (PORTFOLIOS / "warnings").glob("*/expected.txt")
              for line in case.read_text().splitlines()}
    documented = {fn.__doc__.split(":")[0].strip() for fn in PORTFOLIO_LINTS}
    assert documented <= rules

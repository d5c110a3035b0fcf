"""Nothing secret reaches the tree: every emitted string is searched for credential shapes, each finding is reported
at the portfolio field it came from, and a Secret reference is the way to pass such a value (one failing fixture per
shape lives in fixtures/portfolios/invalid/secret-*)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_quoting import poison

from conftest import MINIMAL_TEXT, PORTFOLIOS, load_named, load_text, problems_in
from generator.checks.secrets import SHAPES, find_secrets, secret_problems
from generator.render import render

TOKENS = {
    "a Hugging Face token (hf_...)": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_...)": "gho_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "a GitHub fine-grained token (github_pat_...)": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzAB",
    "an AWS access key id (AKIA/ASIA...)": "ASIAIOSFODNN7EXAMPLE",
    "an AWS secret access key": "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "an API key (sk-...)": "sk-ant-api03-Xy7Zq9Wv2Ut4Sr6Pq8On0Ml",
    "a JSON Web Token": "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.sig",
    "a password in a URL (user:password@)": "s3://minio:minio123@minio.example.com/models",
    "a key or token given as an argument (--...-key= / --...token=)": "--api-key=topsecret",
}
HARMLESS = [
    "--max-num-batched-tokens=8192", "--enable-auto-tool-choice", "--api-key=$(VLLM_API_KEY)", "--hf-token=$(HF_TOKEN)",
    "sk-learn-classifier-model-v2", "task-abcdefghijklmnopqrstuvwxyz", "ssh://git@git.example.com:22/org/repo.git",
    "git@github.com:org/repo.git", "https://user:$(PASSWORD)@example.com/x", "https://example.com:8443/path",
    "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key=$(AWS_SECRET_ACCESS_KEY)", "mistral-small-24b", "eyJust a word",
]


def test_every_shape_has_a_token_and_a_failing_fixture() -> None:
    assert set(TOKENS) == {s.name for s in SHAPES}
    fixtures = sorted(p.name for p in (PORTFOLIOS / "invalid").glob("secret-*") if "SEC006" in (p / "expected.txt").read_text())
    assert len(fixtures) >= len(SHAPES)


@pytest.mark.parametrize("shape", sorted(TOKENS))
def test_each_shape_is_found_inside_any_text(shape: str) -> None:
    found = find_secrets(f"see {TOKENS[shape]} here")
    assert [s.name for s, _ in found] == [shape]


@pytest.mark.parametrize("text", HARMLESS)
def test_references_and_look_alikes_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == []


def test_the_bundled_trees_hold_no_secret() -> None:
    for name in ("default", "teams", "tiers", "environments", "minimal"):
        loaded = load_named(name)
        assert secret_problems(loaded.portfolio, loaded.tree) == []


def test_a_token_in_any_field_that_reaches_the_tree_is_reported_at_that_field() -> None:
    token = TOKENS["a Hugging Face token (hf_...)"]
    portfolio = poison(load_named("default").portfolio, f" {token}")
    problems = secret_problems(portfolio, render(portfolio))
    paths = {p.path for p in problems}
    assert all(p.rule == "SEC006" and token not in p.message for p in problems)  # the message never repeats the secret
    for expected in [("namespace",), ("gitops", "targetRevision"), ("models", 0, "displayName"), ("models", 0, "provider"),
                     ("models", 0, "useCase"), ("models", 0, "precision"), ("models", 0, "weights", "huggingFace"),
                     ("modelDefaults", "env"), ("runtime", "displayName"), ("modelRegistry", "owner")]:
        assert any(path[:len(expected)] == expected for path in paths), expected
    assert len(paths) > 40


def test_a_secret_passed_by_reference_renders_a_secret_key_ref(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, MINIMAL_TEXT + "    secretEnv:\n      VLLM_API_KEY: {secret: vllm-api-key, key: token}\n"
                                                "    vllm:\n      extraArgs: [--api-key=$(VLLM_API_KEY)]\n")
    [isvc] = [d for docs in loaded.tree.values() for d in docs if d["kind"] == "InferenceService"]
    model = isvc["spec"]["predictor"]["model"]
    assert {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "vllm-api-key", "key": "token"}}} in model["env"]
    assert "--api-key=$(VLLM_API_KEY)" in model["args"]


def test_the_value_itself_is_refused_wherever_it_is_written(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, MINIMAL_TEXT + "    vllm:\n      extraArgs: [--api-key=hunter2hunter2]\n")
    assert (problem.rule, problem.path) == ("SEC006", "models[0].vllm.extraArgs[0]")
    assert "hunter2" not in problem.message and "--api-key=..." in problem.message and "secretEnv" in problem.message

"""The API server's limits as rules: an object it would refuse is refused at build, with the emitted position and the
portfolio field behind it; a long model list is cut in registration shards that each stay within them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DEMO, MINIMAL_TEXT, load_text, replace_once
from generator.checks.validate import validate_tree
from generator.diagnostics import Diagnostic
from generator.model.loader import load_portfolio
from generator.render import registration
from generator.render import render as render_tree

SECOND = MINIMAL_TEXT[MINIMAL_TEXT.index("  - name: tiny"):]


def _validate(tmp_path: Path, text: str) -> list[Diagnostic]:
    loaded = load_text(tmp_path, text)
    return validate_tree(loaded.tree, portfolio=loaded.portfolio, source=loaded.source).diagnostics


def test_a_huge_description_is_refused_by_each_size_limit_at_its_model(tmp_path: Path) -> None:
    text = MINIMAL_TEXT + f"    description: {'x' * (2 * 1024 * 1024)}\n"
    found = {d.rule: d for d in _validate(tmp_path, text)}
    assert {"K8S002", "K8S003", "K8S004"} <= set(found)
    for rule in ("K8S002", "K8S003", "K8S004"):
        assert found[rule].file.endswith("model-registration/registration-config.yaml")
        assert found[rule].origin is not None and found[rule].origin.endswith("models[0]")
    assert "etcd" in found["K8S002"].message and "1,024.0 KiB" in found["K8S003"].message
    assert "last-applied-configuration" in found["K8S004"].message


def test_an_annotation_of_300_kb_is_refused_at_the_model(tmp_path: Path) -> None:
    text = MINIMAL_TEXT + f"    annotations:\n      example.com/notes: {'y' * 300_000}\n"
    [problem] = [d for d in _validate(tmp_path, text) if d.rule == "K8S004"]
    assert problem.file.endswith("inference/tiny.yaml") and problem.origin is not None
    assert "models[0]" in problem.origin


@pytest.mark.parametrize(("name", "says"), [
    ("3-mistral-int4", "start with a letter"),
    ("m" * 54, "at most 53"),
])
def test_inference_service_names_follow_kserve(tmp_path: Path, name: str, says: str) -> None:
    text = replace_once(MINIMAL_TEXT, "  - name: tiny", f"  - name: {name}")
    [problem] = [d for d in _validate(tmp_path, text) if d.rule == "K8S005"]
    assert problem.path == "metadata.name" and says in problem.message
    assert problem.origin is not None and problem.origin.endswith("models[0].name")


def test_an_exposed_model_whose_route_host_is_too_long_is_refused(tmp_path: Path) -> None:
    namespace = "n" * 30
    text = replace_once(replace_once(MINIMAL_TEXT, "namespace: demo", f"namespace: {namespace}"),
                        "  - name: tiny", f"  - name: {'m' * 33}")
    [problem] = [d for d in _validate(tmp_path, text) if d.rule == "K8S005"]
    assert "Route" in problem.message and "64 characters" in problem.message
    assert not [d for d in _validate(tmp_path, text + "    exposure: internal\n") if d.rule == "K8S005"]


def test_a_label_value_longer_than_63_is_refused(tmp_path: Path) -> None:
    long = "p" * 70
    text = replace_once(MINIMAL_TEXT, "flavors:\n", f"kueue:\n  priorityClasses:\n    - {{name: {long}, value: 5}}\nflavors:\n")
    found = [d for d in _validate(tmp_path, text + f"    priority: {long}\n") if d.rule == "K8S005"]
    assert [d.path for d in found] == ['metadata.labels["kueue.x-k8s.io/priority-class"]']
    assert found[0].origin is not None and found[0].origin.endswith("models[0].priority")


def test_the_model_list_is_cut_in_shards_that_keep_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    portfolio = load_portfolio(DEMO).portfolio
    whole = json.loads(render_tree(portfolio)[
        "gitops/step-05-llm-on-vllm/base/model-registration/registration-config.yaml"][0]["data"]["models.json"])
    monkeypatch.setattr(registration, "SHARD_BYTES", 1200)  # about two entries of the demo per shard
    files = registration.render_registration(portfolio)
    configs, jobs = files["registration-config.yaml"], files["register-models.yaml"]
    assert [c["metadata"]["name"] for c in configs] == ["model-registration", *(f"model-registration-{i}"
                                                                                for i in range(2, len(configs) + 1))]
    assert 2 <= len(configs) < len(whole)
    assert [e for c in configs for e in json.loads(c["data"]["models.json"])] == whole
    assert [j["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] for j in jobs] == [
        c["metadata"]["name"] for c in configs]
    assert len({j["metadata"]["name"] for j in jobs}) == len(jobs) and jobs[1]["metadata"]["name"].startswith("register-models-2-")
    for config in configs:
        entries = json.loads(config["data"]["models.json"])
        shard_cost = sum(len(json.dumps(json.dumps(e, indent=2, sort_keys=True))) for e in entries)
        assert len(entries) == 1 or shard_cost <= 1200


def test_a_portfolio_that_fits_one_configmap_keeps_one_registration() -> None:
    files = registration.render_registration(load_portfolio(DEMO).portfolio)
    assert [c["metadata"]["name"] for c in files["registration-config.yaml"]] == ["model-registration"]
    assert len(files["register-models.yaml"]) == 1


@pytest.mark.parametrize("kind", ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"])
def test_an_rbac_name_is_a_path_segment_as_the_api_server_has_it(kind: str) -> None:
    from generator.checks.limits import names_and_labels
    from generator.checks.treelint import TreeFacts

    def problems(name: str) -> list[str]:
        doc = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}}
        return [p.message for p in names_and_labels("f.yaml", 0, doc, TreeFacts(frozenset()))]

    assert problems("System:Model_Callers") == []  # the API server accepts any name but '.', '..', '/' and '%'
    assert problems("a/b") and problems("50%") and problems("..")

"""A 20-team, 1,000-model portfolio (300 in the fast run) builds, validates against the upstream CRDs and plans, end to
end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, sized
from generator.cli import main

sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from make_portfolio import dump, scale  # noqa: E402

MODELS, TEAMS = sized(1000, 300), 20  # at least 11 models a team: the plan test starts ten more


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scale")
    (root / "portfolio.yaml").write_text(dump(scale(MODELS, TEAMS)), encoding="utf-8")
    assert main(["build", "--root", str(root)]) == 0
    return root


def written(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every document written under gitops/, by kind."""
    import yaml

    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((root / "gitops").rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            found.setdefault(doc["kind"], []).append(doc)
    return found


def test_the_tree_holds_every_model_in_its_teams_namespace(built: Path) -> None:
    kinds = written(built)
    services = kinds["InferenceService"]
    assert len(services) == MODELS
    assert {s["metadata"]["namespace"] for s in services} == {f"team-{t:02d}" for t in range(1, TEAMS + 1)}
    registration = [j for j in kinds["Job"] if j["metadata"]["name"].startswith("register-models")]
    assert len(kinds["ClusterQueue"]) == TEAMS and len(kinds["Job"]) == MODELS + len(registration)


def _applied_size(doc: dict[str, Any]) -> tuple[int, int]:
    """(object, annotations) in bytes once client-side apply has stored the object's JSON in an annotation."""
    own = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    annotations = {**(doc["metadata"].get("annotations") or {}), "kubectl.kubernetes.io/last-applied-configuration": own}
    applied = {**doc, "metadata": {**doc["metadata"], "annotations": annotations}}
    return (len(json.dumps(applied, separators=(",", ":"), ensure_ascii=False).encode()),
            sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items()))


def test_every_object_is_within_the_api_servers_limits_and_the_model_list_is_sharded(built: Path) -> None:
    kinds = written(built)
    for kind, docs in kinds.items():
        for doc in docs if kind != "Kustomization" else []:
            size, annotations = _applied_size(doc)
            assert size <= 1536 * 1024 and annotations <= 256 * 1024, (kind, doc["metadata"].get("name"), size, annotations)
            if kind in ("ConfigMap", "Secret"):
                assert sum(len(v.encode()) for v in (doc.get("data") or {}).values()) <= 1024 * 1024
    shards = [c for c in kinds["ConfigMap"] if "models.json" in c["data"]]
    registered = [entry["name"] for shard in shards for entry in json.loads(shard["data"]["models.json"])]
    # about 160 KiB of models a shard, each team registering its own models: every team's 50 (CI's size) or 15 (the
    # fast run) fit in one (test_limits.py shards at a low threshold)
    assert len(shards) == TEAMS and sorted(registered) == sorted(s["metadata"]["name"] for s in kinds["InferenceService"])
    mounted = {(j["metadata"]["namespace"], j["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"])
               for j in kinds["Job"] if j["metadata"]["name"].startswith("register-models")}
    assert mounted == {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in shards}


def test_it_validates_against_the_upstream_crds(built: Path, upstream_crds: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["validate", "--root", str(built), "--crd-dir", str(upstream_crds), "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    summary = answer["summary"]
    assert summary["custom_checked"] >= MODELS and summary["core_checked"] >= 4 * MODELS
    # a platform Application and two per team, each path well within what Argo CD's repo-server renders in seconds
    assert not [d for d in answer["diagnostics"] if d["rule"] == "ARGO001"]
    assert len(written(built)["Application"]) == 1 + 1 + 2 * TEAMS  # the root, the platform, two per team


def test_it_plans_each_teams_running_model_within_its_quota(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["plan", "--root", str(built), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    running = [m for m in result["models"] if m["state"] != "off"]
    assert len(running) == TEAMS and all(m["state"] == "admitted" for m in running)
    assert {m["team"] for m in running} == {f"team-{t:02d}" for t in range(1, TEAMS + 1)}
    # and a team that starts ten more of its models is held to its quota plus what it may borrow
    queued = [m["name"] for m in result["models"] if m["team"] == "team-01" and m["state"] == "off"][:10]
    assert main(["plan", "--root", str(built), "--format", "json", *(f"--enable={n}" for n in queued)]) == 0
    after = json.loads(capsys.readouterr().out)["result"]
    states = [m["state"] for m in after["models"] if m["team"] == "team-01" and m["state"] != "off"]
    assert states.count("admitted") == 11 and len(states) == 11  # 1-GPU models: own 5 GPUs, and borrowing the rest

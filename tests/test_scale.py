"""A 20-team, 1,000-model portfolio builds, validates against the upstream CRDs and plans, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from generator.cli import main

sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from make_portfolio import dump, scale  # noqa: E402

MODELS, TEAMS = 1000, 20


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
    assert len(kinds["ClusterQueue"]) == TEAMS and len(kinds["Job"]) == MODELS + TEAMS  # + each team's registration Job


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

"""Reporters: text, JSON and GitHub annotations, sorted by position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import INVALID, PORTFOLIOS
from generator.cli import main
from generator.diagnostics import Diagnostic, format_path, render_github, render_json, render_text

PROBLEMS = [
    Diagnostic("portfolio.yaml", 42, 7, "PF004", "models[2].gpus", "8 GPUs fit no node"),
    Diagnostic("portfolio.yaml", 3, 1, "SCH002", "gitopz", "unknown key 'gitopz'"),
    Diagnostic("gitops/a.yaml", 12, 3, "CRD002", "spec.x", "bad", origin="portfolio.yaml:9:5 models[0]"),
]


def test_text_is_sorted_and_in_the_documented_shape() -> None:
    assert render_text(PROBLEMS).splitlines() == [
        "gitops/a.yaml:12:3: error [CRD002] spec.x: bad (from portfolio.yaml:9:5 models[0])",
        "portfolio.yaml:3:1: error [SCH002] gitopz: unknown key 'gitopz'",
        "portfolio.yaml:42:7: error [PF004] models[2].gpus: 8 GPUs fit no node",
    ]


def test_json_shape() -> None:
    payload = json.loads(render_json(PROBLEMS, core_checked=9))
    assert payload["summary"] == {"errors": 3, "warnings": 0, "core_checked": 9}
    assert payload["diagnostics"][0] == {"file": "gitops/a.yaml", "line": 12, "column": 3, "severity": "error",
                                         "rule": "CRD002", "path": "spec.x", "message": "bad",
                                         "origin": "portfolio.yaml:9:5 models[0]"}


def test_github_annotations_escape_newlines() -> None:
    lines = render_github([Diagnostic("p.yaml", 1, 2, "SCH001", "a", "line one\nline two 100%")]).splitlines()
    assert lines == ["::error file=p.yaml,line=1,col=2::[SCH001] a: line one%0Aline two 100%25"]


def test_paths_quote_keys_with_dots_and_slashes() -> None:
    assert format_path(("metadata", "labels", "kueue.x-k8s.io/queue-name")) == 'metadata.labels["kueue.x-k8s.io/queue-name"]'
    assert format_path(("models", 2, "gpus")) == "models[2].gpus"


@pytest.mark.parametrize("case", INVALID)
def test_validate_rejects_every_bad_portfolio_with_exit_1_and_writes_nothing(
        tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = PORTFOLIOS / "invalid" / case / "portfolio.yaml"
    (tmp_path / "portfolio.yaml").write_bytes(source.read_bytes())
    assert main(["validate", "--root", str(tmp_path)]) == 1
    assert main(["build", "--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portfolio.yaml"]

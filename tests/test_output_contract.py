"""One output contract for every command: JSON of one shape, diagnostics on one stream, --version, --help."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import DEMO, PORTFOLIOS, ROOT, materialize, render_named, replace_once
from generator.cli import COMMANDS, main

SHAPE = {"command", "ok", "exit_code", "diagnostics", "summary", "result"}
WARNING = PORTFOLIOS / "warnings" / "quota-above-nodes" / "portfolio.yaml"


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([*args, "--format", "json"])
    captured = capsys.readouterr()
    assert captured.err == "", captured.err  # in JSON everything is in the one document
    document = json.loads(captured.out)
    assert set(document) == SHAPE and document["exit_code"] == code and document["ok"] == (code == 0)
    assert {"errors", "warnings"} <= set(document["summary"])
    return code, document


def test_build_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "portfolio.yaml").write_text(WARNING.read_text())
    code, document = _json(capsys, "build", "--root", str(tmp_path))
    assert (code, document["command"]) == (0, "build")
    assert document["result"]["written"] and document["result"]["removed"] == []
    assert [d["rule"] for d in document["diagnostics"]] == ["PF014"] and document["summary"]["warnings"] == 1


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text().replace("maxModelLen: 8192", "maxModelLen: 4096"))
    code, document = _json(capsys, "build", "--check", "--root", str(tmp_path))
    assert (code, document["command"], document["result"]["up_to_date"]) == (1, "check", False)
    assert "gitops/step-05-llm-on-vllm/base/inference/gpt-oss-20b.yaml" in document["result"]["changed"]
    assert "+      - --max-model-len=4096" in document["result"]["diff"]


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _json(capsys, "validate", "--portfolio", str(DEMO))
    assert (code, document["command"], document["result"]) == (0, "validate", {"valid": True})
    assert document["summary"]["core_checked"] > 0


def test_diff_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text().replace("maxModelLen: 8192", "maxModelLen: 4096"))
    code, document = _json(capsys, "diff", "--root", str(tmp_path), "--against", str(tmp_path))
    assert (code, document["command"], document["summary"]["changed"]) == (0, "diff", 3)
    assert {c["kind"] for c in document["result"]["changes"]} == {"ConfigMap", "InferenceService", "Job"}


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _json(capsys, "plan", "--portfolio", str(DEMO), "--enable", "devstral-2")
    devstral = next(m for m in document["result"]["models"] if m["name"] == "devstral-2")
    assert (code, devstral["state"], devstral["flavor"]) == (0, "pending", None)


def test_scenarios_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _json(capsys, "scenarios", "--portfolio", str(DEMO))
    assert (code, document["summary"]["scenarios"], document["summary"]["passed"]) == (0, 4, 4)
    assert [s["name"] for s in document["result"]["scenarios"]][0] == "resource-handover"


def test_a_broken_portfolio_is_one_json_document_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "portfolio.yaml").write_text(replace_once(DEMO.read_text(), "    gpus: 4\n    state: active\n",
                                                          "    gpus: 0\n    state: active\n"))
    for command in (["build"], ["validate"], ["plan"], ["scenarios"], ["diff", "--against", str(tmp_path)]):
        code, document = _json(capsys, *command, "--root", str(tmp_path))
        assert code == 1 and document["result"] is None
        assert [(d["rule"], d["path"]) for d in document["diagnostics"]] == [("SCH001", "models[0].gpus")]


@pytest.mark.parametrize("command", [["build"], ["build", "--check"], ["validate"], ["plan"], ["scenarios"],
                                     ["runbook", "verify"], ["diff"]])
def test_diagnostics_go_to_standard_error_from_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             command: list[str]) -> None:
    (tmp_path / "portfolio.yaml").write_text(WARNING.read_text())
    materialize(render_named("minimal"), tmp_path)
    extra = ["--against", str(tmp_path)] if command == ["diff"] else []
    main([*command, "--root", str(tmp_path), *extra])
    captured = capsys.readouterr()
    assert "warning [PF014] flavors[0].quota.gpus" in captured.err
    assert "[PF014]" not in captured.out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert re.fullmatch(r"python -m generator \d+\.\d+\.\d+\n", capsys.readouterr().out)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_an_example_of_each_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"python -m generator {command}" in text


def test_the_readme_json_example_is_what_the_command_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("```json\n") + len("```json\n"):]
    example = json.loads(block[:block.index("```")])
    (tmp_path / "portfolio.yaml").write_text(replace_once(DEMO.read_text(), "    gpus: 4\n    state: active\n",
                                                          "    gpus: 0\n    state: active\n"))
    main(["build", "--root", str(tmp_path), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    for diagnostic in document["diagnostics"]:  # the README runs it beside the portfolio
        diagnostic["file"] = Path(diagnostic["file"]).name
    assert document == example

"""The command line: exit codes 0/1/2, diagnostics instead of tracebacks, nothing written on error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, MINIMAL_TEXT, PORTFOLIOS, ROOT, load_named, materialize, render_named, replace_once
from generator.cli import main


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_check_fails_with_a_diff_after_a_portfolio_change(tmp_path: Path) -> None:
    materialize(render_named("default"), tmp_path)
    text = DEMO.read_text().replace("maxModelLen: 8192", "maxModelLen: 4096")
    (tmp_path / "portfolio.yaml").write_text(text)
    result = run("build", "--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "-      - --max-model-len=8192\n+      - --max-model-len=4096" in result.stdout


@pytest.mark.parametrize("case", ["broken-yaml", "zero-gpus", "empty-file", "unknown-key"])
def test_bad_portfolio_exits_1_without_traceback_or_writes(tmp_path: Path, case: str) -> None:
    shutil.copy(PORTFOLIOS / "invalid" / case / "portfolio.yaml", tmp_path / "portfolio.yaml")
    result = run("build", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("portfolio.yaml:") or f"{tmp_path.name}/portfolio.yaml:" in result.stderr
    assert not (tmp_path / "gitops").exists()


def test_usage_errors_exit_2() -> None:
    assert run("build", "--no-such-flag").returncode == 2
    assert run("frobnicate").returncode == 2
    missing = run("build", "--portfolio", "nope.yaml")
    assert missing.returncode == 2 and "no such portfolio file" in missing.stderr


def test_json_format_is_machine_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "portfolio.yaml").write_text(replace_once(MINIMAL_TEXT, "    gpus: 1\n", "    gpus: 0\n"))
    assert main(["build", "--root", str(tmp_path), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"]["errors"] == 1
    [item] = payload["diagnostics"]
    assert (item["line"], item["column"], item["rule"], item["path"]) == (40, 11, "SCH001", "models[0].gpus")


def test_github_format_emits_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "portfolio.yaml").write_text(replace_once(MINIMAL_TEXT, "    gpus: 1\n", "    gpus: 0\n"))
    assert main(["build", "--root", str(tmp_path), "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error file=") and out.count("\n") == 1
    assert "portfolio.yaml,line=40,col=11::[SCH001] models[0].gpus: must be greater than 0" in out


def test_build_writes_the_tree_and_reports_counts(tmp_path: Path) -> None:
    (tmp_path / "portfolio.yaml").write_text(MINIMAL_TEXT)
    result = run("build", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    count = len(load_named("minimal").tree)
    assert result.stdout.startswith(f"{count} files rendered: {count} written, 0 unchanged, 0 removed")
    again = run("build", "--root", str(tmp_path))
    assert again.stdout.startswith(f"{count} files rendered: 0 written, {count} unchanged, 0 removed")


def test_schema_is_current() -> None:
    result = run("schema", "--check")
    assert result.returncode == 0, result.stderr


def test_a_missing_dependency_is_a_set_up_error_and_a_missing_own_module_a_bug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.cli as cli

    def missing(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(cli.importlib, "import_module", lambda _: missing("kubernetes_validate"))
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_text(MINIMAL_TEXT, encoding="utf-8")
    command = ["build", "--check", "--portfolio", str(portfolio), "--root", str(tmp_path)]
    assert main(command) == 2
    said = capsys.readouterr().err
    assert "'kubernetes_validate'" in said and "pip install -e ." in said and "internal error" not in said
    monkeypatch.setattr(cli.importlib, "import_module", lambda _: missing("generator.commands.gone"))
    assert main(command) == 3
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err


def test_check_annotates_each_stale_file_on_the_pull_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    materialize(render_named("default"), tmp_path)
    (tmp_path / "portfolio.yaml").write_text(DEMO.read_text().replace("maxModelLen: 8192", "maxModelLen: 4096"))
    assert main(["build", "--check", "--root", str(tmp_path), "--format", "github"]) == 1
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    files = sorted(line.split("file=")[1].split(",")[0] for line in annotations)
    assert "gitops/step-05-llm-on-vllm/base/inference/gpt-oss-20b.yaml" in files and len(files) == len(set(files)) >= 2
    assert all(line.startswith("::error file=gitops/") and ",line=" in line and "run `python -m generator build`" in line
               for line in annotations)

"""The README shows real output: each example it quotes is what the command prints today."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import DEMO, ROOT, replace_once
from generator.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main([*args, "--root", str(ROOT), "--portfolio", str(DEMO)]) in (0, 1)
    return capsys.readouterr().out


def test_plan_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert _output(capsys, "plan", "--enable", "devstral-2").rstrip() in README


def test_scenarios_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert _output(capsys, "scenarios").rstrip() in README


@pytest.mark.parametrize(("args", "start", "stop"), [
    (("runbook", "verify"), "## Verify", None),
    (("runbook", "cleanup"), "## Cleanup", "Expected after"),
    (("runbook", "resource-handover"), "Step 1:", None),
])
def test_runbook_excerpts(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], start: str, stop: str | None) -> None:
    text = _output(capsys, *args)
    excerpt = text[text.index(start):text.index(stop) if stop else None].rstrip()
    assert excerpt in README


@pytest.mark.parametrize(("old", "new"), [("    gpus: 4\n    state: active\n", "    gpus: 0\n    state: active\n"),
                                          ("    quota: {gpus: 4}\n", "    quota: {gpus: 8}\n")])
def test_the_diagnostics_example_is_what_build_prints_for_the_bundled_portfolio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str) -> None:
    (tmp_path / "portfolio.yaml").write_text(replace_once(DEMO.read_text(encoding="utf-8"), old, new), encoding="utf-8")
    main(["build", "--root", str(tmp_path)])
    printed = [line.replace(f"{tmp_path}/", "").split("portfolio.yaml", 1)[-1] for line in capsys.readouterr().err.splitlines()]
    example = README[README.index("   portfolio.yaml:"):].split("```")[0]
    shown = [line.strip().removeprefix("portfolio.yaml") for line in example.splitlines() if "[" in line]
    assert any(line in shown for line in printed), (printed, shown)


def test_the_pre_commit_snippet_names_a_revision_that_exists() -> None:
    snippet = yaml.safe_load(README[README.index("```yaml\nrepos:") + 8:].split("```")[0])
    for repo in snippet["repos"]:
        rev = repo["rev"]
        tags = subprocess.run(["git", "-C", str(ROOT), "tag", "--list", rev], capture_output=True, text=True, check=True).stdout
        assert rev == "main" or tags.strip() == rev, f"{rev} is not a tag of this repository"
    assert "`pre-commit autoupdate --freeze`" in README  # how a user pins main to a commit

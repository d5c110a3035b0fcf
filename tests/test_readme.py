"""The README shows real output: each example it quotes is what the command prints today."""

from __future__ import annotations

import pytest

from conftest import DEMO, ROOT
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

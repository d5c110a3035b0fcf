"""Messages a portfolio author acts on: YAML mistakes in plain words at the line to fix, types named as YAML names
them (never pydantic's), and the small command-line promises (-V, --portfolio -, schema --root)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from conftest import DEMO, PORTFOLIOS, problems_in, replace_once
from generator.cli import main

DEMO_TEXT = DEMO.read_text(encoding="utf-8")


def _line(text: str, content: str) -> int:
    return text.splitlines().index(content) + 1


# (old, new, the line to fix as written in the edited file, the start of the message)
SYNTAX = {
    "missing-colon": ("    useCase: enterprise chat assistant\n", "    useCase enterprise chat assistant\n",
                      "    useCase enterprise chat assistant", "a key without ':'"),
    "value-and-keys": ("    weights:\n      huggingFace: RedHatAI/gpt-oss-20b", "    weights: gpt\n      huggingFace: RedHatAI/gpt-oss-20b",
                       "    weights: gpt", "this key has a value and also keys indented under it"),
    "colon-in-value": ("    sizeGB: 48\n    precision: bf16\n    gpus: 4\n    state: active",
                       "    sizeGB: 48: 3\n    precision: bf16\n    gpus: 4\n    state: active", "    sizeGB: 48: 3",
                       "a second ': ' in a value: put the value in quotes"),
    "tab": ("    state: active\n    vllm:\n      dtype", "\tstate: active\n    vllm:\n      dtype", "\tstate: active",
            "a tab: YAML indents (and separates) with spaces only"),
    "misindented-item": ("  - name: mistral-3-int4\n", " - name: mistral-3-int4\n", " - name: mistral-3-int4",
                         "this line is indented differently"),
}


@pytest.mark.parametrize("case", sorted(SYNTAX))
def test_yaml_mistakes_are_said_plainly_at_the_line_to_fix(tmp_path: Path, case: str) -> None:
    old, new, fix, said = SYNTAX[case]
    text = replace_once(DEMO_TEXT, old, new)
    [problem] = problems_in(tmp_path, text)
    assert (problem.rule, problem.line) == ("YAML001", _line(text, fix)), problem
    assert problem.message.startswith(said) and "(the YAML parser: " in problem.message


def test_a_control_character_is_placed_where_it_is(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "namespace: a\n# x\0y\n")
    assert (problem.line, problem.column) == (2, 4) and "'\\x00' is not allowed" in problem.message


def test_types_are_named_as_yaml_names_them(tmp_path: Path) -> None:
    text = replace_once(DEMO_TEXT, "    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768\n      toolCallParser: mistral\n\n"
                                   "  - name: mistral-3-int4", "    vllm: 3\n\n  - name: mistral-3-int4")
    [problem] = problems_in(tmp_path, text)
    assert problem.message == ("must be a mapping of keys and values (keys: dtype, maxModelLen, toolCallParser, chatTemplate, "
                               "tensorParallelSize, extraArgs), not the number 3")
    [problem] = problems_in(tmp_path, replace_once(DEMO_TEXT, "        enable: [devstral-2]\n", "        enable: devstral-2\n"))
    assert problem.message == "must be a list, not the text 'devstral-2'"


def test_no_invalid_fixture_speaks_pydantic(tmp_path: Path) -> None:
    for expected in sorted((PORTFOLIOS / "invalid").glob("*/expected.txt")):
        text = expected.read_text(encoding="utf-8")
        assert "valid dictionary" not in text and "instance of" not in text, expected


def test_short_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-V"]) == 0
    assert capsys.readouterr().out.startswith("python -m generator ")


@pytest.mark.parametrize("args", [["validate"], ["plan"], ["scenarios"], ["build", "--check"], ["runbook", "verify"]])
def test_the_commands_that_only_read_take_the_portfolio_on_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    broken = replace_once(DEMO_TEXT, "    gpus: 4\n    state: active\n", "    gpus: 0\n    state: active\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(broken.encode())))
    assert main([*args, "--portfolio", "-", "--root", str(tmp_path)]) == 1
    assert f"<stdin>:{_line(broken, '    gpus: 0')}:11: error [SCH001] models[0].gpus" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DEMO_TEXT.encode())))
    assert main([*args, "--portfolio", "-", "--root", str(tmp_path)]) in (0, 1)  # check: no tree in tmp_path
    assert "error [" not in capsys.readouterr().err


def test_schema_refuses_a_root_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--root", str(tmp_path / "no" / "such")]) == 2
    assert "no such folder" in capsys.readouterr().err and not (tmp_path / "no").exists()

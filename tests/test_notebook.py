"""The notebook runs: every cell of the demo's runbook executes in one Python kernel (nbclient), against stand-ins for
oc, kubectl, curl, git, aws and python on PATH, and a variable one cell sets is there in the cells after it."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import load_named
from generator.admission.scenarios import run_all
from generator.runbook import build_runbook
from generator.runbook.formats import MAGIC, to_notebook

PROGRAMS = ("oc", "kubectl", "curl", "git", "aws", "python")
COMMIT = "0123abcd"
URL = "https://model.apps.example.com"


def _stand_ins(folder: Path) -> Path:
    """Programs that record their arguments (NUL-separated, one call per line of two NULs) and answer a few calls."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    answers = {
        "oc": f'case "$*" in *port-forward*) exec sleep 120 ;; *"jsonpath={{.status.url}}"*) echo {URL} ;; esac\n',
        "git": f'[ "$1" = rev-parse ] && echo {COMMIT}\n',
    }
    for program in PROGRAMS:
        stub = bin_dir / program
        stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done >> "{folder}/{program}.args"\n'
                        f'printf "\\0\\0" >> "{folder}/{program}.args"\n{answers.get(program, "")}exit 0\n')
        stub.chmod(0o755)
    return bin_dir


def _calls(folder: Path, program: str) -> list[list[str]]:
    raw = (folder / f"{program}.args").read_bytes().split(b"\0\0")
    return [[part.decode() for part in call.split(b"\0") if part] for call in raw if call.strip(b"\0")]


def test_every_cell_of_the_notebook_runs_in_one_shell_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_named("default")
    sections = build_runbook(loaded.portfolio, loaded.tree, run_all(loaded.portfolio, loaded.tree))
    notebook = nbformat.reads(to_notebook("Runbook", sections), as_version=4)
    bin_dir = _stand_ins(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for name, value in {"MINIO_ACCESS_KEY": "k", "MINIO_SECRET_KEY": "s", "HF_TOKEN": "t"}.items():
        monkeypatch.setenv(name, value)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) > 40 and all(cell.source.startswith(f"{MAGIC}\n") for cell in code[1:])
    assert all(cell.execution_count for cell in code)  # every cell ran
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    # SCENARIO_START, set by the first cell of a scenario, is what its last cell reverts to
    reverts = [call for call in _calls(tmp_path, "git") if call[:1] == ["revert"]]
    assert reverts and all(call[-1] == f"{COMMIT}..HEAD" for call in reverts)
    # a model's URL, captured in one cell's first command, is used by the requests after it
    asked = [arg for call in _calls(tmp_path, "curl") for arg in call if arg.endswith("/v1/models")]
    assert asked and all(arg == f"{URL}/v1/models" for arg in asked)


def test_a_failing_command_stops_the_notebook_at_its_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient.exceptions import CellExecutionError
    from nbformat import v4

    from generator.runbook.formats import SHELL_MAGIC

    notebook = v4.new_notebook(cells=[v4.new_code_cell(SHELL_MAGIC), v4.new_code_cell(f"{MAGIC}\nset -euo pipefail\nLATER=1\nfalse"),
                                      v4.new_code_cell(f'{MAGIC}\necho "never: $LATER"')])
    with pytest.raises(CellExecutionError, match="exit code 1"):
        NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert notebook.cells[2].execution_count is None

"""Quoting by construction: every value that reaches a runbook command is one shell word, whatever it holds.

The schema refuses such values long before (test_hardening.py); here they are put into the typed portfolio
behind the schema's back, into every string field at once, and the generated shell script is run with
stand-ins for oc, kubectl, git, curl, aws and python that only record their arguments. Nothing may run.
"""

from __future__ import annotations

import os
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from conftest import load_named
from generator.admission.scenarios import run_all
from generator.model.portfolio import Portfolio
from generator.model.quantity import canonical_quantity
from generator.render import render
from generator.runbook import build_runbook
from generator.runbook.formats import to_markdown, to_notebook, to_shell

HOSTILE = {
    "substitution": "$(touch {marker})",
    "backticks": "`touch {marker}`",
    "single-quote": "'; touch {marker}; '",
    "double-quote": '"; touch {marker}; "',
    "newline": "\ntouch {marker}\n",
    "semicolon": ";touch {marker}",
}
PROGRAMS = ("oc", "kubectl", "git", "curl", "aws", "python", "base64")


def _unwrap(annotation: Any) -> Any:
    """Look through Annotated and Optional."""
    while typing.get_origin(annotation) in (typing.Annotated, typing.Union, type(None) | int):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0]
    return annotation


def _is_choice(annotation: Any) -> bool:
    """A Literal, or a union with one (a scenario expects a state by name)."""
    if typing.get_origin(annotation) in (typing.Union, type(None) | int):
        return any(_is_choice(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_choice(typing.get_args(annotation)[0])
    return typing.get_origin(annotation) is typing.Literal


def poison(value: Any, suffix: str, annotation: Any = None) -> Any:
    """The value with `suffix` appended to every free string in it (not choices, not quantities)."""
    if isinstance(value, BaseModel):
        updates = {name: poison(getattr(value, name), suffix, info.annotation)
                   for name, info in type(value).model_fields.items()}
        return value.model_copy(update=updates)
    inner = typing.get_args(_unwrap(annotation)) if annotation is not None else ()
    if isinstance(value, list):
        return [poison(v, suffix, inner[0] if inner else None) for v in value]
    if isinstance(value, dict):
        return {poison(k, suffix): poison(v, suffix, inner[-1] if inner else None) for k, v in value.items()}
    if isinstance(value, str) and not _is_choice(annotation):
        try:
            canonical_quantity(value)
            return value  # a quantity is parsed for the quota arithmetic
        except ValueError:
            return value + suffix
    return value


def _stubs(folder: Path) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for program in PROGRAMS:
        stub = bin_dir / program
        stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done >> "{folder}/{program}.args"\n'
                        'printf "\\0\\0" >> "' + str(folder) + f'/{program}.args"\nexit 0\n')
        stub.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_values_in_every_field_execute_nothing(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / f"PWNED-{kind}"
    suffix = HOSTILE[kind].format(marker=marker)
    portfolio = poison(load_named("default").portfolio, suffix)
    assert isinstance(portfolio, Portfolio) and portfolio.namespace.endswith(suffix)
    tree = render(portfolio)
    sections = build_runbook(portfolio, tree, run_all(portfolio, tree))
    script = tmp_path / "runbook.sh"
    script.write_text(to_shell("Runbook", sections, default=["prerequisites", "deploy", "verify"]), encoding="utf-8")
    to_markdown("Runbook", sections), to_notebook("Runbook", sections)  # the other forms assemble the same lines
    parsed = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, f"a {kind} value broke the script's syntax: {parsed.stderr}"
    bin_dir = _stubs(tmp_path)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "MINIO_ACCESS_KEY": "k", "MINIO_SECRET_KEY": "s",
           "HF_TOKEN": "t"}
    keys = [s.key.replace(" ", "-") for s in sections]
    for key in keys:
        subprocess.run(["bash", str(script), key], cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False)
    assert not marker.exists(), f"a {kind} value was executed"
    recorded = (tmp_path / "oc.args").read_bytes().split(b"\0\0")
    # The hostile namespace reached oc as one argument, intact.
    assert any(f"{portfolio.namespace}".encode() in call.split(b"\0") for call in recorded)
    assert len(recorded) > 20 and os.path.exists(tmp_path / "git.args")

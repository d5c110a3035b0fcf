"""The layout shows the pipeline: each stage imports only from the stages before it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

# Stage order; a module may import its own stage and the ones to its left.
STAGES = ["base", "model", "render", "output", "checks", "admission", "runbook", "review", "top"]
BASE = {"generator.diagnostics", "generator.errors"}


def _stage(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in STAGES:
        return parts[1]
    if parts[1:2] == ["scripts"]:
        return "render"  # the Job scripts ship inside the rendered ConfigMaps
    return "top"  # cli, pipeline, __main__


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("generator")}
    return found


def test_no_stage_imports_a_later_stage() -> None:
    wrong = []
    for path in sorted((ROOT / "generator").rglob("*.py")):
        if "scripts" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        own = STAGES.index(_stage(module))
        for imported in _imports(path):
            if STAGES.index(_stage(imported)) > own:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_the_checker_sees_a_forward_import(tmp_path: Path) -> None:
    assert _stage("generator.model.loader") == "model" and _stage("generator.checks.rules") == "checks"
    sample = tmp_path / "sample.py"
    sample.write_text("from generator.checks.rules import RULES\n", encoding="utf-8")
    assert STAGES.index(_stage(next(iter(_imports(sample))))) > STAGES.index("model")

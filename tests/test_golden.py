"""Rendering is deterministic: the same portfolio gives the same bytes, whatever the hash seed or the emitter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import DEMO, ROOT, load_named, render_named
from generator.output.tree import HEADER, serialize


def test_every_generated_file_starts_with_the_header_and_ends_with_one_newline() -> None:
    for path, text in serialize(render_named("default")).items():
        assert text.startswith(HEADER), path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\r" not in text and "\t" not in text, path


def _build(root: Path, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "generator", "build", "--portfolio", str(DEMO),
                    "--root", str(root)], check=True, capture_output=True, env=env, cwd=ROOT)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "gitops").rglob("*")) if p.is_file()}


def test_builds_with_different_hash_seeds_are_byte_identical(tmp_path: Path) -> None:
    first = _build(tmp_path / "a", "1")
    second = _build(tmp_path / "b", "4242")
    again = _build(tmp_path / "a", "random")
    assert first == second == again
    assert len(first) == len(load_named("default").tree)


def test_diagnostics_and_plans_do_not_depend_on_the_hash_seed() -> None:
    over_quota = ROOT / "tests/fixtures/portfolios/warnings/over-quota/portfolio.yaml"
    # both commands in one process per seed: the seed is the process's, what differs between runs is only the seed
    script = ("import sys\nfrom generator.cli import main\n"
              f"main(['validate', '--portfolio', {str(over_quota)!r}])\n"
              f"main(['plan', '--enable', 'granite-8b-agent', '--enable', 'devstral-2', '--portfolio', {str(DEMO)!r}])\n")
    outputs = set()
    for seed in ("1", "2", "77"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        outputs.add(run.stdout + run.stderr)
    assert len(outputs) == 1
    assert "nvidia.com/gpu in gpu-small: 1 used of 1, needs 1" in outputs.pop()


def test_the_c_emitter_and_the_pure_python_one_write_the_same_bytes() -> None:
    from conftest import VALID
    from generator.output.serialize import FAST_DUMPER, PURE_DUMPER

    assert FAST_DUMPER is not PURE_DUMPER, "PyYAML without libyaml: the fast path is not exercised here"
    for name in ["default", *VALID]:
        tree = render_named(name)
        assert serialize(tree, dumper=FAST_DUMPER) == serialize(tree, dumper=PURE_DUMPER), name


def test_strings_kubectl_reads_as_booleans_are_quoted(kubectl: str, tmp_path: Path) -> None:
    """A namespace or label value y / n is a string to us and a boolean to kubectl's YAML 1.1 reader, unquoted."""
    from generator.output.serialize import FAST_DUMPER, PURE_DUMPER, dump_documents

    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"y": "n"}}, "data": {"N": "Y"}}
    for dumper in (FAST_DUMPER, PURE_DUMPER):
        (tmp_path / "c.yaml").write_text(dump_documents([doc], dumper=dumper), encoding="utf-8")
        (tmp_path / "kustomization.yaml").write_text("resources: [c.yaml]\n", encoding="utf-8")
        built = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True, check=False)
        assert built.returncode == 0, built.stderr
        assert yaml.safe_load(built.stdout)["data"] == {"N": "Y"}

"""The generator as an attacker and a clumsy user meet it: no internal error from input, nothing written
outside the output root, and a build that either leaves the previous tree or the complete new one."""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import DEMO, MINIMAL_TEXT, ROOT, replace_once, sized
from generator.cli import main
from generator.errors import GeneratorError
from generator.output import tree as tree_module
from generator.output.tree import JOURNAL, STAGING, generated_files, write_tree
from generator.pipeline import prepare


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as `python -m generator` runs it (its `main`), in this process: what it prints and its exit code.
    Only what needs a process of its own (a kill, a closed pipe) starts one."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _portfolio(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portfolio.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# Each case was an internal error (exit 3) or a silent acceptance; now a positioned diagnostic (1) or usage error (2).
BAD_VALUES = {
    "size-inf": ("    sizeGB: 2", "    sizeGB: .inf", "SCH001", "models[0].sizeGB"),
    "size-1e308": ("    sizeGB: 2", "    sizeGB: 1e308", "SCH001", "models[0].sizeGB"),
    "size-1e400": ("    sizeGB: 2", "    sizeGB: 1e400", "SCH001", "models[0].sizeGB"),
    "bool-tag": ("namespace: demo", "namespace: !!bool demo", "YAML004", "namespace"),
    "set-tag": ("namespace: demo", "namespace: !!set demo", "YAML004", "namespace"),
    "tag-under-float-key": ("namespace: demo", "1e308: !!bool x", "YAML004", "1e+308"),
    "tag-under-bool-key": ("namespace: demo", "true: !!bool x", "YAML004", "True"),
    "omap-tag": ("namespace: demo", "namespace: !!omap demo", "YAML004", "namespace"),
    "python-tag": ("namespace: demo", "namespace: !!python/object/apply:os.system [touch x]", "YAML004", "namespace"),
    "backoff-int32": ("jobs:\n", "jobs:\n  backoffLimit: 2147483648\n", "SCH001", "jobs.backoffLimit"),
    "deadline-int64": ("jobs:\n", "jobs:\n  activeDeadlineSeconds: 9223372036854775808\n", "SCH001",
                       "jobs.activeDeadlineSeconds"),
    "max-replicas": ("modelDefaults:\n", "modelDefaults:\n  maxReplicas: 4294967296\n", "SCH001", "modelDefaults.maxReplicas"),
    "max-model-len": ("    state: active\n", "    state: active\n    vllm: {maxModelLen: 99999999999}\n", "SCH001",
                      "models[0].vllm.maxModelLen"),
    "instance-type-space": ("instanceType: g5.xlarge", "instanceType: g5 xlarge", "SCH001", "flavors[0].instanceType"),
    "instance-type-newline": ("instanceType: g5.xlarge", 'instanceType: "g5.xlarge\\ntouch x"', "SCH001", "flavors[0].instanceType"),
    "instance-type-254": ("instanceType: g5.xlarge", "instanceType: " + "g" * 254, "SCH001", "flavors[0].instanceType"),
    "instance-type-injection": ("instanceType: g5.xlarge", "instanceType: g6.4xlarge$(touch x)", "SCH001", "flavors[0].instanceType"),
    "taint-value": ("flavors:\n", "cluster:\n  gpuTaint: {key: nvidia.com/gpu, value: \"a b\"}\nflavors:\n", "SCH001",
                    "cluster.gpuTaint.value"),
    "endpoint-injection": ("endpoint: http://minio.storage.svc:9000", "endpoint: http://minio.storage.svc:9000/$(touch x)",
                           "SCH001", "storage.s3.endpoint"),
    "token-key-injection": ("flavors:\n", "huggingFace: {tokenKey: 'tok;touch x'}\nflavors:\n", "SCH001", "huggingFace.tokenKey"),
    "cpu-overflow": ('cpuPerNode: "4"', 'cpuPerNode: "99999999999999999999"', "SCH001", "flavors[0].cpuPerNode"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_hostile_or_huge_values_are_positioned_diagnostics(tmp_path: Path, case: str) -> None:
    old, new, rule, path = BAD_VALUES[case]
    portfolio = _portfolio(tmp_path, replace_once(MINIMAL_TEXT, old, new))
    result = run("build", "--portfolio", str(portfolio), "--root", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert f"[{rule}] {path}" in result.stderr
    assert not (tmp_path / "gitops").exists() and not (tmp_path / "x").exists()


def test_unreadable_portfolios_are_usage_errors(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    for portfolio, said in [(fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                            (tmp_path / "loop1", "cannot be read"), (DEMO / "x", "cannot be read"),
                            (tmp_path, "is a directory")]:
        result = run("validate", "--portfolio", str(portfolio))
        assert (result.returncode, "Traceback" in result.stderr) == (2, False), (portfolio, result.stderr)
        assert said in result.stderr


def test_runbook_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run("runbook", "--portfolio", str(DEMO), "-o", str(tmp_path / "missing-dir" / "x.md"))
    assert result.returncode == 2 and "cannot write" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("shape", ["kind: CustomResourceDefinition\nspec: []\n",
                                   "kind: CustomResourceDefinition\nspec: {group: g, versions: [{served: true}]}\n",
                                   "kind: CustomResourceDefinition\nspec:\n  versions: [{name: v1, schema: {openAPIV3Schema: "
                                   "{type: object, properties: []}}}]\n"])
def test_a_crd_file_of_the_wrong_shape_is_a_usage_error(tmp_path: Path, shape: str) -> None:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "bad.yaml").write_text(shape, encoding="utf-8")
    result = run("validate", "--portfolio", str(DEMO), "--crd-dir", str(tmp_path / "crds"))
    assert result.returncode == 2 and "bad.yaml" in result.stderr and "Traceback" not in result.stderr


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    shutil.copy(MINIMAL_PATH, tmp_path / "portfolio.yaml")
    piped = subprocess.run(f"{sys.executable} -m generator build --check --root {tmp_path} | head -0", shell=True,
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert piped.stderr.count("Traceback") == 0 and "BrokenPipe" not in piped.stderr
    assert "gitops/ differs" in piped.stderr  # the verdict still reaches standard error


MINIMAL_PATH = ROOT / "tests" / "fixtures" / "portfolios" / "valid" / "minimal" / "portfolio.yaml"


def test_a_read_only_checkout_builds_when_nothing_needs_writing(tmp_path: Path) -> None:
    shutil.copy(MINIMAL_PATH, tmp_path / "portfolio.yaml")
    assert run("build", "--root", str(tmp_path)).returncode == 0
    for folder, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            os.chmod(Path(folder) / name, 0o555 if name in dirs else 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        again = run("build", "--root", str(tmp_path))
        assert again.returncode == 0, again.stderr
        assert "0 written" in again.stdout
    finally:
        os.chmod(tmp_path, 0o755)
        for folder, dirs, _ in os.walk(tmp_path):
            for name in dirs:
                os.chmod(Path(folder) / name, 0o755)


def test_a_symlinked_output_root_is_refused_and_nothing_outside_is_touched(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.yaml"
    victim.write_text("# Generated by gpuaas-generator, or so it says\n", encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(MINIMAL_PATH, repo / "portfolio.yaml")
    (repo / "gitops").symlink_to(outside)
    result = run("build", "--root", str(repo))
    assert result.returncode == 1 and "is a symlink" in result.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["victim.yaml"] and victim.exists()


def test_a_symlink_on_a_generated_path_is_refused(tmp_path: Path) -> None:
    shutil.copy(MINIMAL_PATH, tmp_path / "portfolio.yaml")
    assert run("build", "--root", str(tmp_path)).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    inference = next((tmp_path / "gitops").rglob("inference"))
    shutil.rmtree(inference)
    inference.symlink_to(outside)
    result = run("build", "--root", str(tmp_path))
    assert result.returncode == 1 and "is a symlink on a generated path" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_file_where_a_generated_folder_goes_stops_the_build_before_any_write(tmp_path: Path) -> None:
    shutil.copy(MINIMAL_PATH, tmp_path / "portfolio.yaml")
    (tmp_path / "gitops").mkdir()
    (tmp_path / "gitops" / "argocd").write_text("not a folder\n", encoding="utf-8")
    result = run("build", "--root", str(tmp_path))
    assert result.returncode == 1 and "is a file where the generated folder goes" in result.stderr
    assert sorted(p.name for p in (tmp_path / "gitops").iterdir()) == ["argocd"]
    assert not list(tmp_path.glob(f"{STAGING}*")) and not (tmp_path / JOURNAL).exists()


def _trees(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The minimal portfolio's tree (A) and the demo's (B): different files in different folders."""
    from generator.output.serialize import serialize

    return (serialize(prepare(MINIMAL_PATH).tree), serialize(prepare(DEMO).tree))


def _on_disk(root: Path) -> dict[str, str]:
    return {p: (root / p).read_text(encoding="utf-8") for p in generated_files(root)}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((STAGING, JOURNAL, ".generator-journal")))


def test_a_failure_while_staging_leaves_the_previous_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, _ = _trees(tmp_path)
    write_tree(prepare(MINIMAL_PATH).tree, tmp_path)
    calls = {"n": 0}
    real_open = Path.open

    def failing_open(self: Path, mode: str = "r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if "w" in mode and STAGING in str(self):
            calls["n"] += 1
            if calls["n"] > 5:
                raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(Exception, match="nothing was written: could not stage"):
        write_tree(prepare(DEMO).tree, tmp_path)
    monkeypatch.undo()
    assert _on_disk(tmp_path) == old and _leftovers(tmp_path) == []


def test_a_failure_during_the_switch_is_named_by_check_and_finished_by_the_next_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, new = _trees(tmp_path)
    write_tree(prepare(MINIMAL_PATH).tree, tmp_path)
    real_replace, calls = os.replace, {"n": 0}

    def failing_replace(src, dst):  # type: ignore[no-untyped-def]
        if STAGING in str(src):
            calls["n"] += 1
            if calls["n"] > 7:
                raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(tree_module.os, "replace", failing_replace)
    with pytest.raises(GeneratorError, match="stopped half-way.*next `python -m generator build` finishes it"):
        write_tree(prepare(DEMO).tree, tmp_path)
    monkeypatch.undo()
    shutil.copy(DEMO, tmp_path / "portfolio.yaml")
    check = run("build", "--check", "--root", str(tmp_path))
    assert check.returncode == 1 and "interrupted build" in check.stderr
    repaired = run("build", "--root", str(tmp_path))
    assert repaired.returncode == 0, repaired.stderr
    assert _on_disk(tmp_path) == new and _leftovers(tmp_path) == []
    assert run("build", "--check", "--root", str(tmp_path)).returncode == 0


def _large_portfolio(count: int) -> str:
    """The demo with `count` more models, each with its own weights: a few hundred files to write."""
    text = DEMO.read_text(encoding="utf-8")
    gpt = text[text.index("  - name: gpt-oss-20b"):text.index("  - name: granite-8b-agent")]
    clones = "".join(gpt.replace("name: gpt-oss-20b", f"name: clone-{i}").replace(
        "huggingFace: RedHatAI/gpt-oss-20b", f"huggingFace: RedHatAI/gpt-oss-20b-{i}") for i in range(count))
    stories = text.index("# The demo's stories")
    return text[:stories] + clones + text[stories:]


def test_a_build_killed_at_any_point_leaves_a_tree_check_trusts_and_the_next_build_repairs(tmp_path: Path) -> None:
    """SIGKILL at random points of a large build: never a mixed tree that `--check` calls up to date."""
    from generator.output.serialize import serialize

    _portfolio(tmp_path, MINIMAL_PATH.read_text(encoding="utf-8"))
    assert run("build", "--root", str(tmp_path)).returncode == 0
    before = _on_disk(tmp_path)
    large = _large_portfolio(80)
    expected = serialize(prepare(_write_large(tmp_path, large)).tree)
    assert len(expected) > 150
    rng = random.Random(20261129)
    outcomes = {"previous": 0, "complete": 0, "journal": 0}
    kills = sized(5, 2)
    for _ in range(kills):
        _portfolio(tmp_path, large)
        process = subprocess.Popen([sys.executable, "-m", "generator", "build", "--root", str(tmp_path)], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 2.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check = run("build", "--check", "--root", str(tmp_path))
        disk = _on_disk(tmp_path)
        if (tmp_path / JOURNAL).exists():
            outcomes["journal"] += 1
            assert check.returncode == 1 and "interrupted build" in check.stderr
        elif check.returncode == 0:
            outcomes["complete"] += 1
            assert disk == expected
        else:
            outcomes["previous"] += 1
            assert disk == before, "a killed build left a mixed tree without a journal"
        repaired = run("build", "--root", str(tmp_path))
        assert repaired.returncode == 0, repaired.stderr
        assert _on_disk(tmp_path) == expected
        assert _leftovers(tmp_path) == [] and not list((tmp_path / "gitops").rglob("*.tmp"))
        # back to the previous tree for the next attempt, by the same all-or-nothing build
        _portfolio(tmp_path, MINIMAL_PATH.read_text(encoding="utf-8"))
        assert run("build", "--root", str(tmp_path)).returncode == 0 and _on_disk(tmp_path) == before
    assert sum(outcomes.values()) == kills


def _write_large(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "large" / "portfolio.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def test_main_never_shows_a_traceback_for_a_bug(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.commands.plan as plan_command

    def broken(args):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(plan_command, "run", broken)
    assert main(["plan", "--portfolio", str(DEMO)]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: a bug" in err and "Traceback" not in err

"""Every command that writes treats a symlink, a FIFO, a device or a directory at its target by one set of rules, and
a full disk is exit 1 with what to do, never an internal error (exit 3)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import DEMO
from generator.cli import main
from generator.output import files as files_module
from generator.output import tree as tree_module

FAILING_SCENARIO = ("          devstral-2: pending\n", "          devstral-2: {state: admitted, flavor: nvidia-l4-4gpu}\n")


def _repo(tmp_path: Path, *, failing_story: bool = False) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    text = DEMO.read_text(encoding="utf-8")
    if failing_story:
        assert text.count(FAILING_SCENARIO[0]) >= 1
        text = text.replace(*FAILING_SCENARIO, 1)
    (repo / "portfolio.yaml").write_text(text, encoding="utf-8")
    return repo


def _symlinked_portfolio(tmp_path: Path, *, failing_story: bool = False) -> tuple[Path, Path]:
    """A repository whose portfolio.yaml is a symlink to a file kept elsewhere."""
    repo = _repo(tmp_path, failing_story=failing_story)
    kept = tmp_path / "kept" / "portfolio.yaml"
    kept.parent.mkdir()
    shutil.move(repo / "portfolio.yaml", kept)
    (repo / "portfolio.yaml").symlink_to(kept)
    return repo, kept


def test_set_state_writes_through_a_symlinked_portfolio(tmp_path: Path) -> None:
    repo, kept = _symlinked_portfolio(tmp_path)
    assert main(["set-state", "devstral-2=active", "mistral-3-bf16=queued", "--root", str(repo)]) == 0
    assert (repo / "portfolio.yaml").is_symlink() and os.readlink(repo / "portfolio.yaml") == str(kept)
    assert "  - name: devstral-2\n" in kept.read_text() and kept.read_text().count("state: active") == 2


def test_scenarios_accept_writes_through_a_symlinked_portfolio(tmp_path: Path) -> None:
    repo, kept = _symlinked_portfolio(tmp_path, failing_story=True)
    before = kept.read_text()
    main(["scenarios", "--accept", "--root", str(repo)])
    assert (repo / "portfolio.yaml").is_symlink() and kept.read_text() != before
    assert FAILING_SCENARIO[0] in kept.read_text()


def test_an_edited_portfolio_keeps_its_permissions(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.chmod(repo / "portfolio.yaml", 0o600)
    assert main(["set-state", "devstral-2=active", "--root", str(repo)]) == 0
    assert stat.S_IMODE(os.stat(repo / "portfolio.yaml").st_mode) == 0o600


def test_runbook_writes_through_a_symlink_and_into_a_fifo_and_a_device(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_text("old\n")
    (tmp_path / "link.md").symlink_to(target)
    assert main(["runbook", "verify", "--portfolio", str(DEMO), "-o", str(tmp_path / "link.md")]) == 0
    assert (tmp_path / "link.md").is_symlink() and target.read_text().startswith("# Runbook")

    fifo = tmp_path / "runbook.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["runbook", "verify", "--portfolio", str(DEMO), "-o", str(fifo)]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and received[0].startswith(b"# Runbook")

    device = _null_device(tmp_path)
    assert main(["runbook", "verify", "--portfolio", str(DEMO), "-o", str(device)]) == 0
    assert stat.S_ISCHR(os.stat(device).st_mode)  # written into, not replaced by a regular file


def _null_device(tmp_path: Path) -> Path:
    """A character device of our own (root may make one); /dev/null otherwise, which a non-root user cannot replace."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        return Path("/dev/null")
    return device


@pytest.mark.parametrize("make", ["directory", "loop"])
def test_runbook_refuses_a_target_that_cannot_be_a_file(tmp_path: Path, make: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "target"
    if make == "directory":
        target.mkdir()
    else:
        target.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(target)
    assert main(["runbook", "verify", "--portfolio", str(DEMO), "-o", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert target.is_dir() if make == "directory" else target.is_symlink()


def test_schema_writes_through_a_symlink_and_refuses_a_root_that_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    kept = tmp_path / "kept.json"
    kept.write_text("{}\n")
    (tmp_path / "schemas" / "portfolio.schema.json").symlink_to(kept)
    assert main(["schema", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "schemas" / "portfolio.schema.json").is_symlink() and '"$schema"' in kept.read_text()
    assert main(["schema", "--root", str(tmp_path / "missing")]) == 2


def test_build_never_replaces_a_fifo_or_a_device_on_a_generated_path(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    assert main(["build", "--root", str(repo)]) == 0
    application = repo / "gitops/argocd/app-of-apps/step-05-llm-on-vllm.yaml"
    application.unlink()
    os.mkfifo(application)
    assert main(["build", "--root", str(repo)]) == 1
    assert "hand-written" in capsys.readouterr().err and stat.S_ISFIFO(os.stat(application).st_mode)


def _full_disk(monkeypatch: pytest.MonkeyPatch, module: Any, name: str = "replace") -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module.os, name, no_space)


WRITERS: dict[str, tuple[Callable[[Path], list[str]], Callable[[Path], Path]]] = {
    "runbook -o": (lambda repo: ["runbook", "verify", "--root", str(repo), "-o", str(repo / "RUNBOOK.md")],
                   lambda repo: repo / "RUNBOOK.md"),
    "set-state": (lambda repo: ["set-state", "devstral-2=active", "--root", str(repo)], lambda repo: repo / "portfolio.yaml"),
    "scenarios --accept": (lambda repo: ["scenarios", "--accept", "--root", str(repo)], lambda repo: repo / "portfolio.yaml"),
    "schema": (lambda repo: ["schema", "--root", str(repo)], lambda repo: repo / "schemas" / "portfolio.schema.json"),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_full_disk_is_exit_1_and_the_file_is_as_it_was(tmp_path: Path, writer: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path, failing_story=writer == "scenarios --accept")
    arguments, target = WRITERS[writer]
    target(repo).parent.mkdir(exist_ok=True)
    target(repo).write_text(target(repo).read_text() if target(repo).exists() else "previous\n")
    before = target(repo).read_bytes()
    _full_disk(monkeypatch, files_module)
    assert main(arguments(repo)) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free some space" in err and "internal error" not in err
    assert target(repo).read_bytes() == before
    assert not [p for p in target(repo).parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("step", ["journal", "switch"])
def test_a_full_disk_during_a_build_is_exit_1_with_what_to_do(tmp_path: Path, step: str, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    if step == "journal":  # the journal is the first file renamed into place, before anything of gitops/ changes
        _full_disk(monkeypatch, tree_module)
        assert main(["build", "--root", str(repo)]) == 1
        err = capsys.readouterr().err
        assert "nothing was written" in err and "free some space" in err
        assert not (repo / "gitops").exists() or not any((repo / "gitops").rglob("*.yaml"))
        return
    real_replace, calls = os.replace, {"n": 0}

    def fails_after_three(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] > 4:  # the journal, then three files of the tree
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(tree_module.os, "replace", fails_after_three)
    assert main(["build", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "stopped half-way" in err and "free some space" in err and "internal error" not in err
    monkeypatch.undo()
    assert main(["build", "--check", "--root", str(repo)]) == 1  # the half-switched tree is named
    assert main(["build", "--root", str(repo)]) == 0 and main(["build", "--check", "--root", str(repo)]) == 0


def test_the_cli_turns_an_unexpected_full_disk_into_exit_1(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from generator.commands import plan

    def no_space(args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/somewhere")

    monkeypatch.setattr(plan, "run", no_space)
    assert main(["plan", "--portfolio", str(DEMO)]) == 1
    assert "no space left on device (/tmp/somewhere)" in capsys.readouterr().err

"""Writing the rendered tree into gitops/: all or nothing, inside the output root, only generated files.

Only files that start with HEADER belong to the generator; everything else under the output root is
hand-written and never touched. A build first checks every target (no symlink on a generated path,
no file where a generated folder goes, folders writable), then stages every new file next to the
repository, then writes a journal of the switch, then switches (each file by `os.replace`), then removes
the journal and the staging. A build killed before the journal leaves the previous tree; one killed
after it leaves a journal that the next build finishes and that `--check` reports. Nothing is locked
or written when the tree on disk is already up to date.
"""

from __future__ import annotations

import difflib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import GeneratorError
from generator.output.serialize import HEADER, HEADER_MARK, serialize
from generator.render.common import Tree

__all__ = ["HEADER", "OUTPUT_ROOT", "WriteReport", "atomic_write", "diff_tree", "generated_files", "interruption",
           "is_generated", "serialize", "write_tree"]

OUTPUT_ROOT = "gitops"
LOCK_FILE = ".generator.lock"
STAGING = ".generator-staging"
JOURNAL = ".generator-journal.json"


class InterruptedBuild(GeneratorError):
    """A journal says a build stopped half-way through the switch."""


def is_generated(path: Path) -> bool:
    """A regular file (not a symlink) whose first line is the generator's header."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(HEADER_MARK)
    except OSError:
        return False


def _refuse_symlinked_root(root: Path) -> Path:
    base = root / OUTPUT_ROOT
    if base.is_symlink():
        raise GeneratorError(f"{base}: is a symlink ({os.readlink(base)}); the generator writes only inside the "
                             f"repository: replace it with a real folder")
    return base


def generated_files(root: Path) -> list[str]:
    """Generated files on disk under the output root, as POSIX paths relative to root; symlinks are never followed."""
    base = _refuse_symlinked_root(root)
    if not base.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not (Path(folder) / d).is_symlink())
        for name in files:
            path = Path(folder) / name
            if is_generated(path):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    finished_interrupted: bool = False


@dataclass(frozen=True)
class _Switch:
    writes: dict[str, str]  # path -> new text
    unchanged: list[str]
    removes: list[str]


def _check_target(root: Path, relative: str, problems: list[str]) -> None:
    """Every folder on the way must be a real folder (or absent) and writable; the file itself generated."""
    target = root / relative
    current = root / OUTPUT_ROOT
    for part in Path(relative).parts[1:-1]:
        current = current / part
        if current.is_symlink():
            problems.append(f"{current.relative_to(root)}: is a symlink on a generated path")
            return
        if current.exists() and not current.is_dir():
            problems.append(f"{current.relative_to(root)}: is a file where the generated folder goes")
            return
    if target.is_symlink():
        problems.append(f"{relative}: is a symlink where a generated file goes")
    elif target.exists() and not is_generated(target):
        problems.append(f"{relative}: holds a hand-written file (no generated header); move it away first")
    existing = target.parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        problems.append(f"{existing.relative_to(root) if existing != root else '.'}: is not writable")


def _plan(files: dict[str, str], root: Path) -> _Switch:
    writes, unchanged = {}, []
    for path, text in files.items():
        target = root / path
        try:
            current = target.read_text(encoding="utf-8") if target.is_file() and not target.is_symlink() else None
        except (OSError, UnicodeDecodeError):
            current = None
        if current == text:
            unchanged.append(path)
        else:
            writes[path] = text
    removes = [p for p in generated_files(root) if p not in files]
    return _Switch(writes, unchanged, removes)


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Serialise concurrent builds of one root so their switches never interleave."""
    try:
        handle = (root / LOCK_FILE).open("a")
    except OSError as error:
        raise GeneratorError(f"{root / LOCK_FILE}: cannot take the build lock: {error.strerror or error}") from error
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write(target: Path, text: str, *, create_parents: bool = True) -> None:
    """Write through a temporary file in the same folder and `os.replace`: readers see the old or the new file."""
    if create_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _stage(switch: _Switch, root: Path) -> Path:
    """Every new file, written in full under the staging folder (same filesystem as gitops/)."""
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}.", dir=root))
    try:
        for path, text in switch.writes.items():
            staged = staging / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            with staged.open("w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(staged, 0o644)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _finish(root: Path, journal: Mapping[str, Any]) -> None:
    """Apply a journal's switch; each step can be repeated, so a switch killed half-way is finished later."""
    staging = root / str(journal["staging"])
    for path in journal["writes"]:
        staged, target = staging / path, root / path
        if staged.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for path in journal["removes"]:
        target = root / path
        if is_generated(target):
            target.unlink()
        _remove_empty_parents(target.parent, root / OUTPUT_ROOT)


def _advice(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space (the disk or your quota is full) and run `python -m generator build` again"
    return "fix the cause and run `python -m generator build` again"


def _leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.glob(f"{STAGING}.*")) + sorted(root.glob(f".{JOURNAL}.*.tmp"))


def _recover(root: Path) -> bool:
    """Finish a switch a killed build left behind; remove a staging no journal points at. True if one was finished."""
    journal_path = root / JOURNAL
    finished = False
    if journal_path.is_file():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise GeneratorError(f"{journal_path}: unreadable journal of an interrupted build ({error}); remove it and "
                                 f"{STAGING}.* and build again") from error
        try:
            _finish(root, journal)
            journal_path.unlink()
        except OSError as error:
            raise InterruptedBuild(f"could not finish the switch an interrupted build began: {error.strerror or error}; "
                                   f"the journal {JOURNAL} still holds it; {_advice(error)}") from error
        finished = True
    for leftover in _leftovers(root):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return finished


def interruption(root: Path) -> str | None:
    """What `--check` says when a build was killed half-way through its switch."""
    if (root / JOURNAL).exists():
        return (f"an interrupted build left {OUTPUT_ROOT}/ half-switched (journal {JOURNAL}); "
                "run `python -m generator build` to finish it")
    return None


def write_tree(tree: Tree, root: Path) -> WriteReport:
    files = serialize(tree)
    outside = [p for p in files if not p.startswith(f"{OUTPUT_ROOT}/") or ".." in Path(p).parts]
    if outside:
        raise GeneratorError(f"refusing to write outside {OUTPUT_ROOT}/: {', '.join(outside)}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GeneratorError(f"{root}: cannot create the root: {error.strerror or error}; {_advice(error)}") from error
    _refuse_symlinked_root(root)
    switch = _plan(files, root)
    if not switch.writes and not switch.removes and interruption(root) is None and not _leftovers(root):
        return WriteReport(unchanged=sorted(files))  # nothing to do: no lock, no write (a read-only checkout is fine)
    report = WriteReport()
    with build_lock(root):
        report.finished_interrupted = _recover(root)
        switch = _plan(files, root)  # again, under the lock: another build may have switched meanwhile
        problems: list[str] = []
        for path in switch.writes:
            _check_target(root, path, problems)
        for path in switch.removes:
            if not os.access((root / path).parent, os.W_OK | os.X_OK):
                problems.append(f"{Path(path).parent}: is not writable")
        if problems:
            raise GeneratorError("nothing was written: " + "; ".join(sorted(set(problems))))
        try:
            staging = _stage(switch, root)
        except OSError as error:
            raise GeneratorError(f"nothing was written: could not stage the new tree: {error.strerror or error}; "
                                 f"{OUTPUT_ROOT}/ is as it was; {_advice(error)}") from error
        journal = {"staging": staging.name, "writes": sorted(switch.writes), "removes": switch.removes}
        try:
            atomic_write(root / JOURNAL, json.dumps(journal, indent=1) + "\n")
            _fsync_dir(root)
        except OSError as error:
            (root / JOURNAL).unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            raise GeneratorError(f"nothing was written: could not write the build's journal: {error.strerror or error}; "
                                 f"{OUTPUT_ROOT}/ is as it was; {_advice(error)}") from error
        try:
            _finish(root, journal)
            (root / JOURNAL).unlink()
        except OSError as error:
            raise InterruptedBuild(
                f"the switch to the new tree stopped half-way: {error.strerror or error}; the journal {JOURNAL} keeps "
                f"what remains to do, `build --check` reports it, and the next `python -m generator build` finishes it: "
                f"{_advice(error)}") from error
        shutil.rmtree(staging, ignore_errors=True)
    report.written = sorted(switch.writes)
    report.unchanged = sorted(switch.unchanged)
    report.removed = switch.removes
    return report


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def diff_tree(tree: Tree, root: Path) -> str:
    """A unified diff from what is on disk to what the portfolio renders; empty when they agree."""
    stopped = interruption(root)
    if stopped:
        raise InterruptedBuild(stopped)
    files = serialize(tree)
    chunks = []
    for path in sorted(set(files) | set(generated_files(root))):
        target = root / path
        try:
            old = target.read_text(encoding="utf-8") if target.is_file() and not target.is_symlink() else ""
        except (OSError, UnicodeDecodeError):
            old = ""
        new = files.get(path, "")
        if old != new:
            chunks.append("".join(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f"a/{path}" if old else "/dev/null",
                tofile=f"b/{path}" if path in files else "/dev/null",
            )))
    return "".join(chunks)

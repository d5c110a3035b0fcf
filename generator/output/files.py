"""Writing one file a user named: the runbook's -o, the portfolio an editing command changes, the schema.

The same rules for every such writer, and the same spirit as build's for the tree: nothing is replaced that the
user did not mean, and a failure says what happened to the file and what to do.

- a symlink is followed: the file it names is written (the link stays a link), under the rules below;
- a FIFO or a character device (`-o /dev/stdout`, a pipe made with mkfifo) is written into, never replaced;
- a directory, a socket or a block device is refused, with the reason;
- a regular file, or no file yet, is replaced whole: written to a temporary file beside it, then renamed over it, so
  a reader sees the old file or the new one; an existing file keeps its permissions.

A failure while writing (a full disk, an I/O error) leaves the file as it was and says so.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from generator.errors import GeneratorError, UsageError


class WriteFailed(GeneratorError):
    """The file could not be written; it is as it was (exit 1)."""


def failure(path: Path, error: OSError, *, unchanged: str) -> WriteFailed:
    """What went wrong writing `path`, what is left as it was, and what to do."""
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        advice = "the disk (or your quota) is full: free some space and run the command again"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "you may not write there: check the permissions (or write elsewhere) and run the command again"
    else:
        advice = "run the command again once the cause is fixed"
    return WriteFailed(f"{path}: cannot write: {error.strerror or error}; {unchanged}; {advice}")


def resolve_target(target: Path) -> Path:
    """The file a write to `target` lands in: symlinks followed; a target that cannot be a file is a usage error."""
    try:
        real = Path(os.path.realpath(target, strict=False)) if target.is_symlink() else target
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise UsageError(f"{target}: cannot write: the symlink does not lead to a file ({error})") from error
    try:
        info = real.stat()
    except FileNotFoundError:
        if not real.parent.is_dir():
            raise UsageError(f"{target}: cannot write: the folder {real.parent} does not exist") from None
        return real
    except OSError as error:
        raise UsageError(f"{target}: cannot write: {error.strerror or error}") from error
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{target}: cannot write: it is a directory; name a file")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        raise UsageError(f"{target}: cannot write: it is a socket or a block device, not a file")
    return real


def write_file(target: Path, text: str) -> Path:
    """Write `text` to `target` under the rules above; the path written (the symlink's target when it is one)."""
    real = resolve_target(target)
    try:
        info = real.stat()
    except FileNotFoundError:
        info = None
    if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        try:
            with open(real, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        except OSError as error:
            raise failure(target, error, unchanged="what was written so far went to the stream") from error
        return real
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o644
    try:
        fd, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as error:
        raise failure(target, error, unchanged="the file is as it was") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise failure(target, error, unchanged="the file is as it was") from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return real

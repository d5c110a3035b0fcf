"""Builds the box's binaries with the repository's `cluster/build` and returns the directory that holds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import generator
from generator.sandbox.errors import SandboxError, ToolMissing

EXIT_GO_MISSING = 2
GO_MISSING = ("Go is not installed (no `go` on PATH); the control plane in a box is built from Go modules by cluster/build. "
              "Install Go 1.26 or newer (https://go.dev/dl/, or your distribution's golang package) and retry.")


def build_script() -> Path:
    """`cluster/build` of the clone this generator runs from (the box is built from the pins committed there)."""
    script = Path(generator.__file__).resolve().parent.parent / "cluster" / "build"
    if not script.is_file():
        raise SandboxError(f"{script} is missing: the box is built from the pins in a clone of the repository; run the "
                           "generator from a clone (pip install -e .)")
    return script


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def ensure_built(progress: Callable[[str], None] | None = None) -> Path:
    """Run `cluster/build` (it builds only what is missing), passing its progress lines on; return the bin directory.

    The build caches under `$GPUAAS_GENERATOR_BUILD_CACHE` when it is set (the test suite points
    GPUAAS_GENERATOR_CACHE at a temporary directory, but must reuse the built box), else where cluster/build
    says. Go missing is a ToolMissing (exit 2) with the script's own instructions; a failed build a SandboxError
    that quotes the script's report (which names the component and its log).
    """
    say = progress or _stderr
    if shutil.which("go") is None:
        raise ToolMissing(GO_MISSING)
    bash = shutil.which("bash")
    if bash is None:
        raise ToolMissing("bash is not installed; cluster/build is a bash script")
    env = dict(os.environ)
    if env.get("GPUAAS_GENERATOR_BUILD_CACHE"):
        env["GPUAAS_GENERATOR_CACHE"] = env["GPUAAS_GENERATOR_BUILD_CACHE"]
    process = subprocess.Popen([bash, str(build_script())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    assert process.stderr is not None and process.stdout is not None
    said = []
    for line in process.stderr:
        said.append(line.rstrip("\n"))
        say(said[-1])
    out = process.stdout.read().strip().splitlines()
    code = process.wait()
    if code == EXIT_GO_MISSING:
        raise ToolMissing(GO_MISSING)
    if code != 0 or not out:
        raise SandboxError("building the box failed:\n" + "\n".join(said[-25:]))
    return Path(out[-1])

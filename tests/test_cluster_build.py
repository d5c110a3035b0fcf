"""cluster/build with a stand-in for `go`: it builds what is missing once, and a second build started while the first
runs waits for it instead of compiling the same binaries into the same files (the test suite's two box workers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import ROOT

# A `go` that answers `go env GOVERSION` and, for `go build -o OUT`, records the call and writes OUT after a pause
# long enough for a second build to start meanwhile.
FAKE_GO = """#!/bin/sh
if [ "$1" = env ]; then echo go1.26.0; exit 0; fi
while [ "$#" -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
echo "$out" >> "$GO_CALLS"
sleep 1
echo binary > "$out" && chmod +x "$out"
"""


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    cluster = tmp_path / "cluster"
    component = cluster / "demo"
    component.mkdir(parents=True)
    shutil.copy(ROOT / "cluster" / "build", cluster / "build")
    (component / "go.mod").write_text("module example.com/demo\n\ngo 1.26\n", encoding="utf-8")
    (component / "binaries").write_text("one ./cmd/one\ntwo ./cmd/two\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "go").write_text(FAKE_GO, encoding="utf-8")
    (bin_dir / "go").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GO_CALLS": str(tmp_path / "calls"),
           "GPUAAS_GENERATOR_CACHE": str(tmp_path / "cache")}
    return cluster / "build", env


def test_two_builds_at_once_compile_each_binary_once_and_print_the_same_directory(tmp_path: Path) -> None:
    script, env = _project(tmp_path)
    first = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / "calls").exists():  # the first holds the lock and compiles
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    second = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)
    out, err = first.communicate()
    assert first.returncode == 0 and second.returncode == 0, err + second.stderr
    assert "another build of the box is running" in second.stderr and "waiting for it" in second.stderr
    assert "building" not in second.stderr  # it found both binaries built
    compiled = (tmp_path / "calls").read_text(encoding="utf-8").split()
    assert len(compiled) == 2 and len({Path(p).name for p in compiled}) == 2
    assert out.strip() == second.stdout.strip() and (Path(out.strip()) / "one").read_text() == "binary\n"

"""cluster/README.md is the one list of the box's pins: each row holds to its component's go.mod, and every
component and binary cluster/build builds has a row."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT

CLUSTER = ROOT / "cluster"
ROW = re.compile(r"^\| (?P<component>[\w.-]+) \| `(?P<module>[^`]+)` \| (?P<version>v\S+) \| (?P<binaries>[^|]*) \|")


def _rows() -> list[dict[str, str]]:
    text = (CLUSTER / "README.md").read_text(encoding="utf-8")
    return [m.groupdict() for line in text.splitlines() if (m := ROW.match(line))]


def _required(go_mod: Path) -> dict[str, str]:
    """module -> version of every require line (direct and indirect), from the go.mod text."""
    found = {}
    block = False
    for raw in go_mod.read_text(encoding="utf-8").splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith("require ("):
            block = True
        elif block and line == ")":
            block = False
        elif block and line or line.startswith("require "):
            parts = line.removeprefix("require ").split()
            if len(parts) == 2:
                found[parts[0]] = parts[1]
    return found


def _replaced(go_mod: Path) -> dict[str, tuple[str, str]]:
    """module -> (replacement module, version) of every replace with a version."""
    found = {}
    for line in go_mod.read_text(encoding="utf-8").splitlines():
        parts = line.split("//")[0].strip().removeprefix("replace ").split()
        if len(parts) == 4 and parts[1] == "=>":
            found[parts[0]] = (parts[2], parts[3])
    return found


def _components() -> list[str]:
    return sorted(d.name for d in CLUSTER.iterdir() if (d / "go.mod").is_file() and (d / "binaries").is_file())


def test_each_row_is_the_version_its_go_mod_pins() -> None:
    rows = _rows()
    assert rows, "cluster/README.md has no pin table"
    for row in rows:
        go_mod = CLUSTER / row["component"] / "go.mod"
        assert go_mod.is_file(), f"{row['component']}: no {go_mod}"
        pinned = _required(go_mod).get(row["module"])
        assert pinned == row["version"], f"cluster/README.md says {row['module']} {row['version']}; {go_mod} pins {pinned}"


def test_every_component_and_binary_has_a_row() -> None:
    rows = _rows()
    for component in _components():
        listed = {b.strip().split()[0] for r in rows if r["component"] == component for b in r["binaries"].split(",") if b.strip()}
        built = {line.split()[0] for line in (CLUSTER / component / "binaries").read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")}
        assert built <= listed, f"cluster/{component}: binaries without a row in cluster/README.md: {sorted(built - listed)}"


def test_every_replace_pins_a_published_version_of_the_same_module() -> None:
    """A replace may pin a version, never swap in another module (a fork) or a local folder: every module is then
    fetched through the Go module proxy as published, on CI and on a user's machine alike (the proxy refuses
    OpenShift AI's KServe fork, which is why cluster/kserve pins upstream KServe)."""
    for component in _components():
        go_mod = CLUSTER / component / "go.mod"
        lines = [line.split("//")[0].strip() for line in go_mod.read_text(encoding="utf-8").splitlines()]
        replaces = [line for line in lines if "=>" in line]
        assert len(replaces) == len(_replaced(go_mod)), f"{go_mod}: a replace without a version: {replaces}"
        assert all(module == target for module, (target, _) in _replaced(go_mod).items()), \
            f"{go_mod} replaces a module by another: {_replaced(go_mod)}"
        assert not [p.name for p in (CLUSTER / component).iterdir() if p.is_file() and p.stat().st_mode & 0o111], \
            f"cluster/{component} holds a script: a component is built by cluster/build from go.mod alone"


def test_kubernetes_staging_modules_are_replaced_by_their_release_of_the_same_minor() -> None:
    go_mod = CLUSTER / "kube" / "go.mod"
    kubernetes = _required(go_mod)["k8s.io/kubernetes"]
    staging = "v0." + kubernetes.removeprefix("v1.")
    replaced = _replaced(go_mod)
    assert len(replaced) >= 25  # every staging module k8s.io/kubernetes replaces with ./staging
    assert {module: version for module, (_, version) in replaced.items()} == dict.fromkeys(replaced, staging)
    assert all(module == target for module, (target, _) in replaced.items())


def test_the_kubernetes_binaries_report_the_pinned_version() -> None:
    kubernetes = _required(CLUSTER / "kube" / "go.mod")["k8s.io/kubernetes"]
    major, minor = kubernetes.removeprefix("v").split(".")[:2]
    words = (CLUSTER / "kube" / "ldflags").read_text(encoding="utf-8").split()
    flags = dict(value.split("=", 1) for flag, value in zip(words[::2], words[1::2], strict=True) if flag == "-X")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert (flags[f"{package}.gitVersion"], flags[f"{package}.gitMajor"], flags[f"{package}.gitMinor"]) == (kubernetes, major, minor)

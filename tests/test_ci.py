"""CI that runs where users run it: the workflow lints clean, fetches what it uses, and runs the README's commands;
the CRD manifest pins each upstream file by commit and sha256, and the sums are those of ../shared/crds."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
MANIFEST = ROOT / ".ci" / "upstream-crds.txt"
BIN = Path(sys.executable).parent


def _entries(manifest: Path = MANIFEST) -> list[tuple[str, str, str]]:
    return [tuple(line.split()) for line in manifest.read_text().splitlines()  # type: ignore[misc]
            if line.strip() and not line.startswith("#")]


def test_the_workflow_passes_the_github_workflow_schema() -> None:
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_fetches_what_it_uses_and_runs_the_readmes_commands() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    fetch = next(i for i, r in enumerate(runs) if ".ci/fetch-crds" in r)
    ci = next(i for i, r in enumerate(runs) if r == "bash .ci/run")
    assert fetch < ci
    assert '"$RUNNER_TEMP/crds"' in runs[fetch] and steps[ci]["env"]["CRD_DIR"] == "${{ runner.temp }}/crds"
    assert any("--format markdown >> \"$GITHUB_STEP_SUMMARY\"" in r for r in runs)
    assert "${{" not in "".join(runs), "contexts reach scripts through env, never inline"
    script = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    install, test = re.findall(r"```sh\n(python3 -m venv .*)\n(\.venv/bin/python -m pytest .*)\n```", readme)[0]
    assert "--dist loadgroup" in test, "the box tier runs as two work units, one worker each, beside the rest"
    assert f"\n{test}\n" in script and ".venv/bin/pip install --quiet --disable-pip-version-check -e \".[test]\"" in script
    assert "-e \".[test]\"" in install


def test_actionlint_passes_every_workflow_with_shellcheck_on() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is required (Debian package shellcheck; .ci/run installs it)"
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([str(BIN / "actionlint"), "-shellcheck", shellcheck, *workflows], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_by_commit_with_its_release_in_a_comment() -> None:
    uses = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text())
    assert len(uses) >= 5
    for action, comment in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), (action, comment)


def test_the_workflow_is_minimal_bounded_cached_and_reports_on_the_pull_request() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["test"]
    assert "permissions" not in job and 30 < job["timeout-minutes"] <= 90
    steps = job["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["cache"] == "pip"
    go = next(s for s in steps if s.get("uses", "").startswith("actions/setup-go@"))
    assert go["with"]["go-version"] == "1.26"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert set(cache["with"]["path"].split()) == {"~/.cache/gpuaas-generator/cluster", "~/go/pkg/mod"}
    assert "hashFiles('cluster/**')" in cache["with"]["key"]
    runs = [s.get("run", "") for s in steps]
    assert any("shellcheck" in r and "redis-server" in r for r in runs)
    annotations = next(r for r in runs if "--format github" in r)
    assert "generator validate --crd-dir" in annotations and "generator build --check --format github" in annotations
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert "always()" in summary["if"]  # written also when an earlier step failed
    ci = next(s for s in steps if s.get("run") == "bash .ci/run")
    assert "!cancelled()" in ci["if"]  # the tests run even when the annotations found problems


def test_dependabot_updates_the_actions_and_the_python_dependencies() -> None:
    config = ROOT / ".github" / "dependabot.yml"
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {u["package-ecosystem"] for u in yaml.safe_load(config.read_text())["updates"]} == {"github-actions", "pip"}


def test_ci_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is required (Debian package shellcheck; .ci/run installs it)"
    result = subprocess.run([shellcheck, str(ROOT / ".ci" / "run"), str(ROOT / ".ci" / "fetch-crds")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_each_crd_is_pinned_by_commit_and_its_sum_is_the_shared_copys(upstream_crds: Path) -> None:
    entries = _entries()
    for sha, path, url in entries:
        assert re.fullmatch(r"[0-9a-f]{64}", sha) and re.search(r"/[0-9a-f]{40}/", url), url
        assert url.startswith("https://raw.githubusercontent.com/") and url.endswith("/" + Path(path).name)
        assert hashlib.sha256((upstream_crds / path).read_bytes()).hexdigest() == sha, path
    shared = sorted(p.relative_to(upstream_crds).as_posix() for p in upstream_crds.rglob("*.yaml"))
    assert sorted(path for _, path, _ in entries) == shared


def _manifest_of_files(tmp_path: Path, upstream: Path, corrupt: str | None = None) -> Path:
    lines = []
    for sha, path, _ in _entries():
        source = tmp_path / "mirror" / path
        source.parent.mkdir(parents=True, exist_ok=True)
        data = (upstream / path).read_bytes()
        source.write_bytes(data + (b"# changed\n" if path == corrupt else b""))
        lines.append(f"{sha}  {path}  file://{source}")
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("# test\n" + "\n".join(lines) + "\n")
    return manifest


def test_fetch_crds_downloads_and_verifies(tmp_path: Path, upstream_crds: Path) -> None:
    manifest = _manifest_of_files(tmp_path, upstream_crds)
    result = subprocess.run(["bash", str(ROOT / ".ci" / "fetch-crds"), str(tmp_path / "out"), str(manifest)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"{len(_entries())} CRD files" in result.stdout
    assert (tmp_path / "out" / "kueue" / "kueue.x-k8s.io_clusterqueues.yaml").read_bytes() == (
        upstream_crds / "kueue" / "kueue.x-k8s.io_clusterqueues.yaml").read_bytes()


def test_fetch_crds_refuses_a_file_whose_sum_differs(tmp_path: Path, upstream_crds: Path) -> None:
    manifest = _manifest_of_files(tmp_path, upstream_crds, corrupt="kueue/kueue.x-k8s.io_clusterqueues.yaml")
    result = subprocess.run(["bash", str(ROOT / ".ci" / "fetch-crds"), str(tmp_path / "out"), str(manifest)],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "kueue.x-k8s.io_clusterqueues.yaml: FAILED" in result.stdout + result.stderr


@pytest.mark.parametrize(("command", "file"), [("validate-config", ".pre-commit-config.yaml"),
                                               ("validate-manifest", ".pre-commit-hooks.yaml")])
def test_pre_commit_files_are_valid(command: str, file: str) -> None:
    result = subprocess.run([str(BIN / "pre-commit"), command, str(ROOT / file)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_snippet_for_other_repositories_names_hooks_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    snippet = yaml.safe_load(readme[readme.index("```yaml\nrepos:") + 8:].split("```")[0])
    hooks = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for r in snippet["repos"] for h in r["hooks"]} <= hooks


def test_the_readme_shows_the_fast_tier_without_the_box() -> None:
    readme = (ROOT / "README.md").read_text()
    [fast] = re.findall(r"```sh\n(\.venv/bin/python -m pytest -m \"not box\" .*)\n```", readme)
    assert "-n auto" in fast
    config = (ROOT / "pyproject.toml").read_text()
    assert '"box: ' in config and "pytest-xdist" in config
    script = (ROOT / ".ci" / "run").read_text()
    assert 'HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"' in script and "\n.venv/bin/python -m pytest -n auto --dist loadgroup\n" in script

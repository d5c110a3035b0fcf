"""The repository is also the user's: a valid edit of portfolio.yaml never turns the generator's tests red.

Only test_portfolio.py reads the repository's own portfolio.yaml and gitops/; every other test runs on
fixtures (checked here by reading the tests). On a copy of the repository, the edits a user makes (a sixth
model, a quota and its nodes doubled, a flavor renamed) are followed by `build`, `scenarios --accept` and
`pytest --snapshot-update`, after which the guard passes again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DEMO, ROOT

GUARD = "test_portfolio.py"
EXEMPT = {GUARD, "test_user_edits.py"}  # the guard, and this file, which works on copies of the repository
# The repository's own portfolio or tree, named outright or through a command run without --portfolio/--root.
OWN_FILES = re.compile(r'ROOT\s*/\s*"(portfolio\.yaml|gitops)"|\b(generated_files|diff_tree|tree_from_directory)\(ROOT\)')


def _generator_calls(text: str) -> list[str]:
    """The argument lists of `python -m generator ...` in a test file."""
    calls = []
    for match in re.finditer(r'"-m",\s*"generator"', text):
        end = text.find("]", match.end())
        calls.append(text[match.end():end])
    return calls


def test_only_the_guard_reads_the_repositorys_portfolio() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name in EXEMPT:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {m.group(0)}" for m in OWN_FILES.finditer(text)]
        for call in _generator_calls(text):
            if re.search(r'"(build|validate|plan|scenarios|runbook|diff)"', call) and not re.search(r'"--(portfolio|root)"', call):
                offenders.append(f"{path.name}: python -m generator{call}] runs on the repository's portfolio")
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r'main\(\[[^\]]*\]\)', text)
                      if re.search(r'"(build|validate|plan|scenarios|runbook|diff)"', m.group(0))
                      and not re.search(r'"--(portfolio|root)"|\*args|args', m.group(0))]
    assert offenders == []


def test_the_checker_sees_a_test_that_reads_the_repositorys_portfolio() -> None:
    sample = 'prepare(ROOT / "portfolio.yaml")\nsubprocess.run([sys.executable, "-m", "generator", "plan"], cwd=ROOT)\n'
    assert OWN_FILES.search(sample)
    assert _generator_calls(sample) == [', "plan"']


def _copy_repository(target: Path) -> Path:
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def _edit(text: str) -> str:
    """A sixth model, the 4-GPU flavor's quota and nodes doubled, the 1-GPU flavor renamed."""
    gpt = text[text.index("  - name: gpt-oss-20b"):text.index("  - name: granite-8b-agent")]
    sixth = gpt.replace("name: gpt-oss-20b", "name: gpt-oss-20b-tuned").replace(
        "huggingFace: RedHatAI/gpt-oss-20b", "huggingFace: RedHatAI/gpt-oss-20b-tuned")
    stories = text.index("# The demo's stories")
    text = text[:stories] + sixth + text[stories:]
    text = text.replace("    nodes: 1\n    quota: {gpus: 4}", "    nodes: 2\n    quota: {gpus: 8}")
    return text.replace("nvidia-l4-1gpu", "l4-single")


def test_a_valid_edit_is_made_green_by_build_accept_and_snapshot_update(tmp_path: Path) -> None:
    repo = _copy_repository(tmp_path / "repo")
    portfolio = repo / "portfolio.yaml"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True, timeout=600, check=False)

    guard = ["-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{GUARD}"]
    # Start from the demo (whatever the repository's own portfolio is today), green.
    portfolio.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    assert run("-m", "generator", "build").returncode == 0
    assert run(*guard, "--snapshot-update").returncode == 0  # every other guard test passes: green

    edited = _edit(portfolio.read_text(encoding="utf-8"))
    assert edited.count("l4-single") >= 3 and "quota: {gpus: 8}" in edited
    portfolio.write_text(edited, encoding="utf-8")
    assert run(*guard).returncode == 1  # red: the tree, the stories and the snapshot are the old ones
    refused = run("-m", "generator", "build")  # the stories changed: build says so, as CI would, and names the fix
    assert refused.returncode == 1 and "error [SCN001]" in refused.stderr and "scenarios --accept" in refused.stderr
    accepted = run("-m", "generator", "scenarios", "--accept")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "devstral-2: pending -> admitted on nvidia-l4-4gpu" in accepted.stdout
    assert run("-m", "generator", "build").returncode == 0
    green = run(*guard, "--snapshot-update")  # the tree, its validation, the stories, kustomize: green; a new snapshot
    assert green.returncode == 0 and "5 passed" in green.stdout, green.stdout
    assert run("-m", "generator", "scenarios").returncode == 0


def test_rename_and_remove_leave_build_scenarios_and_the_guard_green_with_no_hand_edit(tmp_path: Path) -> None:
    """Rename a flavor and delete a model in a copy of the demo: every reference follows; the portfolio's diff is the
    renamed names and the model's lines, nothing else."""
    repo = _copy_repository(tmp_path / "repo")
    portfolio = repo / "portfolio.yaml"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True, timeout=600, check=False)

    portfolio.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    renamed = run("-m", "generator", "rename", "flavor", "nvidia-l4-1gpu", "l4-single")
    assert renamed.returncode == 0, renamed.stderr
    assert "6 place(s) rewritten" in renamed.stdout and "HardwareProfile redhat-ods-applications/l4-single" in renamed.stdout
    removed = run("-m", "generator", "remove", "model", "gpt-oss-20b")
    assert removed.returncode == 0, removed.stderr
    assert "dropped gpt-oss-20b from scenario priority-queue, step 1, enable" in removed.stdout
    text = portfolio.read_text(encoding="utf-8")
    assert "nvidia-l4-1gpu" not in text and "gpt-oss-20b" not in text and "# The demo's stories" in text
    expected = DEMO.read_text(encoding="utf-8").replace("nvidia-l4-1gpu", "l4-single")
    gpt = expected[expected.index("  - name: gpt-oss-20b"):expected.index("  - name: granite-8b-agent")]
    expected = expected.replace(gpt, "").replace("[devstral-2, gpt-oss-20b, granite-8b-agent]", "[devstral-2, granite-8b-agent]")
    assert text == expected.replace("          gpt-oss-20b: pending\n", "")  # every other byte as it was
    built = run("-m", "generator", "build")
    assert built.returncode == 0, built.stderr
    assert run("-m", "generator", "scenarios").returncode == 0
    # the guard green: the tree matches, validates, builds and tells the stories; the snapshot takes the new tree
    green = run("-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{GUARD}", "--snapshot-update")
    assert green.returncode == 0 and "5 passed" in green.stdout, green.stdout

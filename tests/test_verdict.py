"""One verdict: every rule id, provoked once, through every command that checks it (build, build --check, validate,
scenarios, the editing commands and the pre-commit hooks as their entries run them): the same severity everywhere,
the severity of the table in generator.diagnostics, the one the README's rules table shows; an error fails every
command that reports it (exit 1) and a warning fails none."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import DEMO, MINIMAL_TEXT, PORTFOLIOS, ROOT, replace_once
from generator import pipeline
from generator.cli import main
from generator.diagnostics import SEVERITY
from generator.model import loader
from generator.render.common import Tree

DEMO_TEXT = DEMO.read_text(encoding="utf-8")
ENVIRONMENTS_TEXT = (PORTFOLIOS / "valid" / "environments" / "portfolio.yaml").read_text(encoding="utf-8")


def _documents(tree: Tree, kind: str) -> list[dict[str, Any]]:
    return [d for docs in tree.values() for d in docs if d.get("kind") == kind]


def _first(tree: Tree, kind: str) -> dict[str, Any]:
    return _documents(tree, kind)[0]


def _rolling(tree: Tree) -> None:
    _first(tree, "InferenceService")["spec"]["predictor"]["deploymentStrategy"] = {"type": "RollingUpdate"}


def _no_queue(tree: Tree) -> None:
    _first(tree, "InferenceService")["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = "nowhere"


def _literal_secret(tree: Tree) -> None:
    _first(tree, "Job")["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "hunter2"})


def _floating_image(tree: Tree) -> None:
    _first(tree, "ServingRuntime")["spec"]["containers"][0]["image"] = "vllm/vllm-openai:latest"


def _root_pod(tree: Tree) -> None:
    del _first(tree, "Job")["spec"]["template"]["spec"]["securityContext"]


def _default_service_account(tree: Tree) -> None:
    _first(tree, "Job")["spec"]["template"]["spec"]["serviceAccountName"] = "default"


def _default_project(tree: Tree) -> None:
    _first(tree, "Application")["spec"]["project"] = "default"


def _unknown_field(tree: Tree) -> None:
    _first(tree, "Job")["spec"]["bogus"] = 1


def _no_limits(tree: Tree) -> None:
    del _first(tree, "InferenceService")["spec"]["predictor"]["model"]["resources"]["limits"]


def _registration_data(size: int) -> Callable[[Tree], None]:
    def grow(tree: Tree) -> None:
        config = next(c for c in _documents(tree, "ConfigMap") if "models.json" in c.get("data", {}))
        config["data"]["padding.txt"] = "x" * size
    return grow


def _big_annotation(tree: Tree) -> None:
    _first(tree, "InferenceService")["metadata"]["annotations"]["example.com/notes"] = "x" * 300_000


def _long_label(tree: Tree) -> None:
    _first(tree, "InferenceService")["metadata"]["labels"]["example.com/team"] = "x" * 70


def _oversized_path(tree: Tree) -> None:
    """One more resource than ARGO001's bound in the path of the first Application whose path the tree renders."""
    from generator.checks.lint import COMFORTABLE_RESOURCES

    paths = [a["spec"]["source"]["path"] for a in _documents(tree, "Application")]
    path = next(p for p in paths if f"{p}/kustomization.yaml" in tree)
    tree[f"{path}/kustomization.yaml"][0]["resources"].append("padding.yaml")
    tree[f"{path}/padding.yaml"] = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"padding-{i}"},
                                     "data": {"n": str(i)}} for i in range(COMFORTABLE_RESOURCES + 1)]


def _crd(rule: str) -> str:
    """A ServingRuntime CRD whose schema or CEL rule the rendered runtime breaks in the way `rule` names."""
    schema: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if rule == "CRD002":
        schema = {"type": "object", "required": ["mustHave"], "x-kubernetes-preserve-unknown-fields": True}
    if rule == "CRD003":
        schema["x-kubernetes-validations"] = [{"rule": "has(self.mustHave)", "message": "needs mustHave"}]
    if rule == "CRD004":
        schema["x-kubernetes-validations"] = [{"rule": "quantity('1').isGreaterThan(quantity('0'))", "message": "q"}]
    kind = "Unrelated" if rule == "CRD001" else "ServingRuntime"
    return yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.serving.kserve.io"},
        "spec": {"group": "serving.kserve.io", "scope": "Namespaced",
                 "names": {"kind": kind, "plural": f"{kind.lower()}s", "singular": kind.lower()},
                 "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "metadata": {"type": "object"}, "spec": schema}}}}]}})


@dataclass(frozen=True)
class Case:
    text: str | bytes
    tree: Callable[[Tree], None] | None = None  # a defect put into the rendered tree (the tree's own rules)
    crd: str | None = None  # a CRD file for --crd-dir
    big: bool = False  # with the file size limit lowered to provoke YAML005

    @property
    def portfolio_rule(self) -> bool:
        """Found in the portfolio itself, so every command that loads it reports it (not only the tree's checks)."""
        return self.tree is None and self.crd is None


def _fixture(group: str, name: str) -> bytes:
    return (PORTFOLIOS / group / name / "portfolio.yaml").read_bytes()


FIXTURES = {
    "YAML001": ("invalid", "broken-yaml"), "YAML002": ("invalid", "duplicate-key"), "YAML003": ("invalid", "list-root"),
    "YAML004": ("invalid", "unknown-tag"), "YAML006": ("invalid", "anchor-bomb"), "SCH001": ("invalid", "zero-gpus"),
    "SCH002": ("invalid", "unknown-key"), "SCH003": ("invalid", "missing-required"), "PF001": ("invalid", "duplicate-model"),
    "PF002": ("invalid", "duplicate-flavor"), "PF003": ("invalid", "unknown-flavor"), "PF004": ("invalid", "gpus-fit-no-node"),
    "PF006": ("invalid", "oci-too-large"), "PF007": ("invalid", "storage-without-source"),
    "PF008": ("invalid", "shared-prefix-conflict"), "PF009": ("invalid", "no-resource-profile"),
    "PF010": ("invalid", "duplicate-resource-profile"), "PF013": ("invalid", "unknown-priority-class"),
    "PF015": ("invalid", "default-argocd-project"), "PF016": ("invalid", "team-unknown"),
    "PF017": ("invalid", "team-quota-above-flavor"), "VLLM001": ("invalid", "lint-chat-template-name"),
    "VLLM002": ("invalid", "lint-quantization-on-compressed-tensors"), "VLLM003": ("invalid", "lint-tool-choice-without-parser"),
    "VLLM004": ("invalid", "lint-tensor-parallel-mismatch"), "VLLM005": ("invalid", "lint-managed-flag-in-extra-args"),
    "ODH001": ("invalid", "lint-inject-oauth"), "PF005": ("warnings", "over-quota"), "PF014": ("warnings", "quota-above-nodes"),
    "VLLM006": ("warnings", "granite-without-template"), "KUEUE003": ("warnings", "machineset-label"),
    "YAML007": ("invalid", "control-character"), "PF019": ("invalid", "secret-env-set-twice"),
    "PF020": ("invalid", "caller-is-the-model-server"), "VLLM007": ("invalid", "lint-env-reference-undefined"),
    "ANN001": ("invalid", "lint-annotation-argocd-sync-wave"), "ANN002": ("invalid", "lint-annotation-key-not-a-string"),
    "SEC006": ("invalid", "secret-hugging-face-token"), "COH001": ("invalid", "cohort-unknown"),
    "COH002": ("invalid", "cohort-cycle"), "COH003": ("invalid", "cohort-root-limits"),
    "COH004": ("invalid", "cohort-over-flavor"), "COH005": ("warnings", "cohort-weights"),
    "COH006": ("warnings", "cohort-weights"), "ARGO002": ("invalid", "application-name-collision"),
    "KUEUE004": ("warnings", "default-queue"), "SEC005": ("warnings", "model-without-auth"),
}
CASES: dict[str, Case] = {rule: Case(_fixture(*where)) for rule, where in FIXTURES.items()}
CASES |= {
    "YAML005": Case(MINIMAL_TEXT, big=True),
    "PF011": Case(replace_once(DEMO_TEXT, "enable: [devstral-2]\n", "enable: [devstral-3]\n")),
    "PF012": Case(replace_once(DEMO_TEXT, "  - name: efficiency\n", "  - name: resource-handover\n")),
    "PF018": Case(replace_once(ENVIRONMENTS_TEXT, "active: [mistral-3-int4]", "active: [mistral-9]")),
    "SCN001": Case(replace_once(DEMO_TEXT, "          devstral-2: pending\n          mistral-3-bf16: {state: admitted, "
                                           "flavor: nvidia-l4-4gpu}\n",
                                "          devstral-2: admitted\n          mistral-3-bf16: {state: admitted, "
                                "flavor: nvidia-l4-4gpu}\n")),
    "KUEUE001": Case(DEMO_TEXT, tree=_rolling), "KUEUE002": Case(DEMO_TEXT, tree=_no_queue),
    "SEC001": Case(DEMO_TEXT, tree=_literal_secret), "IMG001": Case(DEMO_TEXT, tree=_floating_image),
    "SEC002": Case(DEMO_TEXT, tree=_root_pod), "SEC003": Case(DEMO_TEXT, tree=_default_service_account),
    "SEC004": Case(DEMO_TEXT, tree=_default_project), "K8S001": Case(DEMO_TEXT, tree=_unknown_field),
    "SEC007": Case(DEMO_TEXT, tree=_no_limits), "K8S002": Case(DEMO_TEXT, tree=_registration_data(1_600_000)),
    "K8S003": Case(DEMO_TEXT, tree=_registration_data(1_100_000)), "K8S004": Case(DEMO_TEXT, tree=_big_annotation),
    "K8S005": Case(DEMO_TEXT, tree=_long_label), "ARGO001": Case(DEMO_TEXT, tree=_oversized_path),
    **{rule: Case(DEMO_TEXT, crd=_crd(rule)) for rule in ("CRD001", "CRD002", "CRD003", "CRD004")},
    "CRD005": Case(DEMO_TEXT, crd=(PORTFOLIOS.parent / "crds" / "dangling-ref" / "gadgets.yaml").read_text(encoding="utf-8")),
}
# Findings about editing the file, not about the portfolio: only the editing commands report them (test_editing.py).
EDITING_ONLY = {"EDIT001"}


def _hook_commands() -> dict[str, list[str]]:
    """Each pre-commit hook that runs the generator, as the arguments its entry passes."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    local = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks += [h for repo in local["repos"] for h in repo["hooks"]]
    found = {}
    for hook in hooks:
        entry = hook["entry"].split() + hook.get("args", [])
        if entry[:3] == ["python", "-m", "generator"] and entry[3] not in ("schema",):
            found[f"hook {hook['id']}"] = entry[3:]
    return found


HOOKS = _hook_commands()


def _severities(capsys: pytest.CaptureFixture[str], args: list[str], rule: str) -> tuple[int, set[str]]:
    code = main(args)
    captured = capsys.readouterr()
    if "--format" in args:
        document = json.loads(captured.out)
        return code, {d["severity"] for d in document["diagnostics"] if d["rule"] == rule}
    return code, set(re.findall(rf": (error|warning) \[{rule}\]", captured.err + captured.out))


def test_every_rule_of_the_table_is_provoked_here_and_every_hook_is_run() -> None:
    assert set(SEVERITY) == set(CASES) | EDITING_ONLY
    assert set(HOOKS) == {"hook gpuaas-generator-check", "hook gpuaas-generator-validate", "hook generator-build-check",
                          "hook generator-validate"}


def test_the_readme_rules_table_shows_each_rules_severity() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Rules"):readme.index("### In CI")]
    shown: dict[str, str] = {}
    for row in table.splitlines():
        if not row.startswith("| ") or row.startswith("| id"):
            continue
        cells = row.split("|")
        for rule in re.findall(r"\b[A-Z][A-Z0-9]*[0-9]{3}\b", cells[1]):
            shown[rule] = cells[2].strip()
    assert shown == SEVERITY


@pytest.mark.parametrize("rule", sorted(CASES))
def test_one_severity_in_every_command(rule: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[rule]
    severity = SEVERITY[rule]
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode("utf-8"))
    if case.big:
        monkeypatch.setattr(loader, "MAX_FILE_BYTES", 100)
    if case.tree is not None:
        render, defect = pipeline.render, case.tree

        def broken(*args: Any, **kwargs: Any) -> Tree:
            tree = render(*args, **kwargs)
            defect(tree)
            return tree

        monkeypatch.setattr(pipeline, "render", broken)
    where = ["--root", str(tmp_path)]
    crds: list[str] = []
    if case.crd is not None:
        (tmp_path / "crds").mkdir()
        (tmp_path / "crds" / "crd.yaml").write_text(case.crd, encoding="utf-8")
        crds = ["--crd-dir", str(tmp_path / "crds")] + (["--allow-missing-schemas"] if rule != "CRD001" else [])
    runs: dict[str, list[str]] = {
        "build": ["build", *where, *crds, "--format", "json"],
        "build --check": ["build", "--check", *where, *crds, "--format", "json"],
        "validate": ["validate", *where, *crds, "--format", "json"],
    }
    if case.portfolio_rule or rule == "SCN001":  # the commands that load the portfolio but check no rendered document
        runs["scenarios"] = ["scenarios", *where, "--format", "json"]
        runs["scenarios --accept"] = ["scenarios", "--accept", *where]
        runs["set-state"] = ["set-state", "tiny=active" if b"name: tiny" in portfolio.read_bytes() else
                             "mistral-3-bf16=active", *where]
    seen: dict[str, tuple[int, set[str]]] = {}
    for name, args in runs.items():
        if name == "scenarios --accept" and rule == "SCN001":
            continue  # it records the story instead: test_editing.py holds what it writes
        seen[name] = _severities(capsys, args, rule)
    for name, args in HOOKS.items():  # a hook runs its entry: the same arguments as a command above, so its answer
        [same] = [run for run, given in runs.items() if given[:-2] == [*args, *where, *crds]]
        seen[name] = seen[same]
    for name, (code, found) in seen.items():
        assert found == {severity}, (name, code, found)
        if severity == "error":
            assert code == 1, (name, code)
        elif name not in ("build --check",) and not name.startswith("hook gpuaas-generator-check") \
                and not name.startswith("hook generator-build-check"):
            assert code == 0, (name, code)
    if severity == "error":
        assert not (tmp_path / "gitops").exists(), "an error writes nothing"
    shutil.rmtree(tmp_path / "gitops", ignore_errors=True)

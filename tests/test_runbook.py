"""The generated runbook: every command parses, names only what exists, and the three forms agree."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from syrupy.assertion import SnapshotAssertion

from conftest import (
    DEMO,
    PORTFOLIOS,
    load_named,  # noqa: E402  (kept apart: fixture helpers)
    load_text,
    render_named,
)
from generator.admission.scenarios import run_all
from generator.render import render
from generator.render.common import Tree
from generator.runbook import SECTIONS, build_runbook
from generator.runbook.formats import to_markdown, to_notebook, to_shell
from generator.runbook.model import Section

ALLOWED = {
    "oc": {"get", "describe", "apply", "create", "delete", "scale", "wait", "logs", "label", "annotate", "patch", "auth",
           "port-forward"},
    "kubectl": {"kustomize"},
    "python": {"-m"},
    "git": {"rev-parse", "add", "commit", "push", "revert"},
    "curl": None, "aws": {"s3"}, "kill": None, "export": None, "test": None, "grep": None, "cut": None, "base64": None, "echo": None,
}
VALUE_FLAGS = {"-n", "-o", "-l", "-f", "-k", "-H", "-d", "--field-selector"}
TYPES = {"kueue": None, "argocd": None,
         "inferenceservice": "InferenceService", "deployment": "Deployment", "job": "Job", "pvc": "PersistentVolumeClaim",
         "secret": "Secret", "servingruntime": "ServingRuntime", "application": "Application", "clusterqueue": "ClusterQueue",
         "localqueue": "LocalQueue", "resourceflavor": "ResourceFlavor", "namespace": "Namespace", "machineset": None,
         "nodes": None, "workloads": None, "pods": None, "events": None, "crd": None, "svc": "Service"}


def sections_for(name: str, text: str | None = None, tmp_path: Path | None = None) -> tuple[list[Section], Tree, Any]:
    loaded = load_text(tmp_path, text) if text is not None else load_named(name)
    tree = render(loaded.portfolio)
    return build_runbook(loaded.portfolio, tree, run_all(loaded.portfolio, tree)), tree, loaded.portfolio


def command_lines(sections: list[Section]) -> list[str]:
    lines = []
    for section in sections:
        for block in section.blocks:
            for command in block.commands:
                lines.append(command.line)
                if command.unless:
                    lines.append(command.unless)
    return lines


def _closing(line: str, index: int) -> int:
    """Index of the ')' that closes a command substitution opened before `index`; single quotes hide parentheses."""
    depth, quoted = 1, False
    for position in range(index, len(line)):
        char = line[position]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return position
    raise AssertionError(f"unbalanced $( in {line!r}")


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of a line, those inside $(...) too (each checked on its own)."""
    inner: list[list[str]] = []
    line = re.sub(r"\$\(\([A-Z_]+ - 1\)\)", "ARITHMETIC", line)  # shell arithmetic on a variable, not a command
    while (start := line.find("$(")) != -1:
        end = _closing(line, start + 2)
        inner += simple_commands(line[start + 2:end])
        line = line[:start] + "SUBSTITUTED" + line[end + 1:]
    assignment = re.match(r"^[A-Z_][A-Z0-9_]*=(\S*)$", line)
    if assignment:
        return inner
    out: list[list[str]] = [[]]
    for token in shlex.split(line):
        if token in ("|", "&&", "||", ";", "&"):
            out.append([])
        elif not token.startswith(">"):
            out[-1].append(token)
    return inner + [[t for t in cmd if not re.match(r"^[A-Z_]+=", t)] for cmd in out if cmd]


def known_names(tree: Tree, portfolio: Any) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {kind: set() for kind in TYPES.values() if kind}
    namespaces = {"openshift-machine-api", portfolio.cluster.hardware_profile_namespace}  # the machines', the dashboard's
    secrets: set[str] = set()
    for docs in tree.values():
        for doc in docs:
            meta = doc.get("metadata") or {}
            if doc.get("kind") in names:
                names[doc["kind"]].add(meta.get("name"))
            if meta.get("namespace"):
                namespaces.add(meta["namespace"])
            text = json.dumps(doc)
            secrets |= set(re.findall(r'"secretKeyRef": \{"name": "([^"]+)"', text))
            secrets |= set(re.findall(r'"storage": \{"key": "([^"]+)"', text))
    names["Deployment"] = {f"{n}-predictor" for n in names["InferenceService"]}
    names["Secret"] = secrets | {"storage-config"}  # made by odh-model-controller from the data connections
    host = portfolio.storage.s3.endpoint.split("//")[1].split(":")[0].split(".")
    names["Namespace"] = namespaces | {host[1]}  # the S3 endpoint's (the cleanup port-forwards to it)
    names["Service"] = {host[0]}
    return names


def check_command(cmd: list[str], names: dict[str, set[str]], tree: Tree, problems: list[str]) -> None:
    program = cmd[0]
    assert program in ALLOWED, f"program {program!r} is not allowed: {cmd}"
    allowed = ALLOWED[program]
    if allowed is not None and len(cmd) > 1:
        assert cmd[1] in allowed, f"{program} {cmd[1]} is not an allowed subcommand"
    args = cmd[1:]
    positional: list[str] = []
    skip = False
    for index, token in enumerate(args):
        if skip:
            skip = False
            if args[index - 1] == "-n" and token not in names["Namespace"]:
                problems.append(f"namespace {token} in {cmd}")
            if args[index - 1] in ("-k",) or (program == "kubectl" and token.startswith("gitops/")):
                pass
            continue
        if token in VALUE_FLAGS:
            skip = True
            if token == "-k" and not any(p.startswith(args[index + 1] + "/") for p in tree):
                problems.append(f"folder {args[index + 1]} not in the tree")
            continue
        if token.startswith("-") or (program == "oc" and "=" in token):
            continue
        positional.append(token)
    if program == "kubectl":
        folder = positional[1]
        if not any(p.startswith(folder + "/") for p in tree):
            problems.append(f"folder {folder} not in the tree")
    if program == "aws":
        for token in positional:
            if token.startswith("s3://"):
                bucket, prefix = token[5:].split("/", 1)
                if not any(f'"S3_PREFIX", "value": "{prefix.rstrip("/")}"' in json.dumps(d)
                           for docs in tree.values() for d in docs):
                    problems.append(f"S3 prefix {prefix} is not uploaded by the tree")
    if program != "oc" or not positional:
        return
    sub, rest = positional[0], positional[1:]
    if sub == "rollout":
        rest = rest[1:]
    if sub in ("apply", "port-forward", "create") and sub != "create":
        rest = rest if sub == "port-forward" else []
    if sub == "create":
        rest = rest[1:] if rest and rest[0] == "secret" else rest  # create secret generic NAME
        rest = ["secret", *rest[1:]] if rest and rest[0] == "generic" else rest
    if not rest:
        return
    first = rest[0]
    resource, inline = (first.split("/", 1) + [None])[:2] if "/" in first else (first, None)
    kind_key = resource.rstrip("s") if resource not in TYPES else resource
    kind = TYPES.get(resource, TYPES.get(kind_key))
    targets = [inline] if inline else rest[1:]
    if kind is None:
        return
    for target in targets:
        target = target.strip('"')
        if target.startswith("$") or target.startswith("{"):
            continue
        if target not in names[kind]:
            problems.append(f"{kind} {target} does not exist ({' '.join(cmd)})")


@pytest.mark.parametrize("name", ["default", "minimal", "tiers", "teams"])
def test_every_command_parses_and_names_only_what_exists(name: str) -> None:
    sections, tree, portfolio = sections_for(name)
    names = known_names(tree, portfolio)
    problems: list[str] = []
    lines = command_lines(sections)
    assert len(lines) > 20
    for line in lines:
        for cmd in simple_commands(line):
            check_command(cmd, names, tree, problems)
    for label in ("-l serving.kserve.io/inferenceservice=",):
        for line in lines:
            if label in line:
                model = line.split(label)[1].split()[0]
                if model not in names["InferenceService"]:
                    problems.append(f"label selects unknown model {model}")
    assert problems == []


def test_the_checker_catches_a_wrong_name() -> None:
    sections, tree, portfolio = sections_for("default")
    problems: list[str] = []
    for cmd in simple_commands("oc scale deployment llama-predictor -n private-ai --replicas=1"):
        check_command(cmd, known_names(tree, portfolio), tree, problems)
    for cmd in simple_commands("oc get secret aws-keys -n nowhere"):
        check_command(cmd, known_names(tree, portfolio), tree, problems)
    assert problems == ["Deployment llama-predictor does not exist (oc scale deployment llama-predictor -n private-ai --replicas=1)",
                        "namespace nowhere in ['oc', 'get', 'secret', 'aws-keys', '-n', 'nowhere']",
                        "Secret aws-keys does not exist (oc get secret aws-keys -n nowhere)"]
    with pytest.raises(AssertionError, match="not an allowed subcommand"):
        check_command(["oc", "exec", "pod"], {}, tree, [])


def test_runbook_covers_every_operational_step_of_the_seed() -> None:
    sections, _, _ = sections_for("default")
    assert [s.key for s in sections] == ["prerequisites", "deploy", "verify", "scenario resource-handover",
                                         "scenario efficiency", "scenario priority-queue", "scenario rolling-update",
                                         "smoke-test", "troubleshoot", "cleanup"]
    text = "\n".join(command_lines(sections))
    for needed in [
        "oc scale machineset \"$MACHINESET_NVIDIA_L4_4GPU\" -n openshift-machine-api --replicas=1",
        "oc get nodes -l node.kubernetes.io/instance-type=g6.12xlarge",
        "oc label namespace private-ai kueue.openshift.io/managed=true --overwrite",
        "oc get kueue cluster -o 'jsonpath={.spec.config.integrations.frameworks}'",
        "oc label secret minio-connection -n private-ai opendatahub.io/managed=true opendatahub.io/dashboard=true --overwrite",
        "oc annotate secret minio-connection -n private-ai opendatahub.io/connection-type=s3 --overwrite",
        "oc get secret storage-config -n private-ai -o 'jsonpath={.data.minio-connection}'",
        "oc auth can-i create clusterqueues.kueue.x-k8s.io --as "
        "system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller",
        "oc create secret generic hf-token -n minio-storage",
        "kubectl kustomize gitops/step-05-llm-on-vllm/base | oc apply --dry-run=server -f -",
        "oc apply -k gitops/argocd/bootstrap",
        "oc logs -f job/upload-mistral-small-24b-",
        "oc wait --for=condition=Ready inferenceservice/mistral-3-bf16 -n private-ai --timeout=45m",
        "oc get workloads -n private-ai",
        "/v1/chat/completions",
        "oc get deployment mistral-3-bf16-predictor -n private-ai -o 'jsonpath={.spec.strategy.type}'",
        "oc delete inferenceservice mistral-3-bf16 mistral-3-int4 devstral-2 gpt-oss-20b granite-8b-agent -n private-ai",
        "aws s3 rm s3://models/mistral-small-24b/ --recursive",
    ]:
        assert needed in text, needed
    # Models are switched on and off through the InferenceService (Git or its stop annotation), never by scaling.
    assert not re.search(r"oc scale (?!machineset)", text)
    assert "rollout restart" not in text


def test_cleanup_deletes_without_scaling_and_removes_each_uploaded_prefix() -> None:
    [cleanup] = [s for s in sections_for("default")[0] if s.key == "cleanup"]
    lines = command_lines([cleanup])
    assert not any("--replicas" in line or "oc scale" in line for line in lines)
    assert lines[0].startswith("oc delete application app-of-apps")  # Argo CD first, or it re-creates what is deleted
    assert sorted(re.findall(r"s3://models/(\S+)/ ", "\n".join(lines))) == [
        "gpt-oss-20b", "granite-3.1-8b-instruct-fp8", "mistral-small-24b"]


def test_shell_form_passes_bash_n_and_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is required (Debian package shellcheck; .ci/run installs it)")
    sections, _, _ = sections_for("default")
    script = tmp_path / "runbook.sh"
    script.write_text(to_shell("Runbook", sections, default=["prerequisites", "deploy", "verify"]))
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    text = script.read_text()
    assert "set -euo pipefail" in text and "sleep" not in text
    assert 'one-shot) section_prerequisites; section_deploy; section_verify ;;' in text


def test_three_forms_carry_the_same_runnable_commands() -> None:
    sections, _, _ = sections_for("default")
    markdown = to_markdown("Runbook", sections)
    shell = to_shell("Runbook", sections, default=["prerequisites", "deploy", "verify"])
    notebook = nbformat.reads(to_notebook("Runbook", sections), as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for section in sections:
        for block in section.blocks:
            for command in block.commands:
                assert command.line in markdown and command.line in code
                if block.mode == "run":
                    assert command.line in shell
                else:
                    assert command.line not in shell or any(
                        command.line == c.line for s in sections for b in s.blocks if b.mode == "run" for c in b.commands)


def test_markdown_runbook_snapshot(snapshot: SnapshotAssertion) -> None:
    sections, _, _ = sections_for("default")
    assert to_markdown("Runbook: step-05-llm-on-vllm", sections) == snapshot


def test_renaming_a_model_changes_every_command_that_names_it(tmp_path: Path) -> None:
    text = (PORTFOLIOS / "valid" / "tiers" / "portfolio.yaml").read_text()
    before = command_lines(sections_for("tiers")[0])
    renamed = text.replace("name: large-twin", "name: large-sibling")
    after = command_lines(sections_for("tiers", renamed, tmp_path)[0])
    old = [line for line in before if re.search(r"\blarge-twin\b", line)]
    assert len(old) >= 5
    assert not any(re.search(r"\blarge-twin\b", line) for line in after)
    def unhashed(lines: list[str]) -> list[str]:  # the registration Job's name carries a hash of the model list
        return [re.sub(r"register-models-[0-9a-f]{8}", "register-models-HASH", line) for line in lines]

    assert unhashed([re.sub(r"\blarge-twin\b", "large-sibling", line).replace("LARGE_TWIN", "LARGE_SIBLING")
                     for line in before]) == unhashed(after)


def test_runbook_cli_sections_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main

    assert main(["runbook", "cleanup", "--portfolio", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert out.count("## ") == 1 and "## Cleanup" in out
    assert main(["runbook", "scenario", "efficiency", "--portfolio", str(DEMO)]) == 0
    assert "## Scenario: efficiency" in capsys.readouterr().out
    assert main(["runbook", "--format", "sh", "--portfolio", str(DEMO), "-o", str(tmp_path / "r.sh")]) == 0
    assert (tmp_path / "r.sh").read_text().startswith("#!/usr/bin/env bash\n")
    assert main(["runbook", "nonsense", "--portfolio", str(DEMO)]) == 2
    assert all(s in SECTIONS for s in ("prerequisites", "deploy", "verify", "smoke-test", "troubleshoot", "cleanup"))


def test_default_runbook_mentions_no_unknown_tree_resource() -> None:
    """Every Job and PVC the tree emits is followed in deploy and removed in cleanup."""
    sections, tree, _ = sections_for("default")
    text = "\n".join(command_lines(sections))
    jobs = [d["metadata"]["name"] for docs in render_named("default").values() for d in docs if d["kind"] == "Job"]
    for job in jobs:
        assert f"job/{job}" in text and re.search(rf"oc delete job [^\n]*\b{job}\b", text), job


def test_prerequisites_check_the_hardware_profiles_the_models_name() -> None:
    tree = render_named("default")
    text = to_markdown("t", build_runbook(load_named("default").portfolio, tree, [], only="prerequisites"))
    assert ("oc get hardwareprofiles.infrastructure.opendatahub.io -n redhat-ods-applications nvidia-l4-1gpu "
            "nvidia-l4-4gpu -o name") in text
    teams = to_markdown("t", build_runbook(load_named("teams").portfolio, render_named("teams"), [], only="prerequisites"))
    assert "oc get hardwareprofiles" not in teams  # with teams the tree renders them itself

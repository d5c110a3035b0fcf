"""`validate` evaluates the API server's own rules: the CEL of the upstream CRDs (x-kubernetes-validations).

Each Kueue rule the tree's kinds can meet is broken once on the rendered demo tree; the rule's message
comes back as CRD003 at the emitted document's position.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conftest import load_named, render_named
from generator.checks.cel import apply_defaults, evaluate
from generator.checks.crds import CrdCatalog
from generator.checks.validate import validate_tree
from generator.render.common import Tree

BASE = "gitops/step-05-llm-on-vllm/base"
QUEUE = f"{BASE}/kueue/cluster-queue.yaml"
FLAVORS = f"{BASE}/kueue/resource-flavors.yaml"


@pytest.fixture(scope="module")
def catalog(upstream_crds: Path) -> CrdCatalog:
    return CrdCatalog.from_dirs([upstream_crds])


def cel_problems(tree: Tree, catalog: CrdCatalog) -> list[tuple[str, str, str]]:
    loaded = load_named("default")
    report = validate_tree(tree, catalog=catalog, portfolio=loaded.portfolio, source=loaded.source)
    return [(d.file, d.path, d.message.split(": ", 1)[1].split(" (CEL rule")[0]) for d in report.diagnostics if d.rule == "CRD003"]


def broken(change: Any) -> Tree:
    tree = copy.deepcopy(render_named("default"))
    change(tree)
    return tree


def test_the_demo_tree_passes_every_rule_and_says_how_many_it_checked(catalog: CrdCatalog) -> None:
    loaded = load_named("default")
    report = validate_tree(render_named("default"), catalog=catalog, portfolio=loaded.portfolio, source=loaded.source)
    assert report.diagnostics == []
    # ClusterQueue: 1 on spec, 2 resource groups, preemption, flavorFungibility; ResourceFlavor: 1 on spec each and
    # 4 on the tolerations and 1 on the taints of each GPU flavor; ArgoCD: its own; transition rules are counted apart.
    assert report.rules_checked >= 17 and report.rules_for_updates >= 4
    assert f"{report.rules_checked} CEL rules checked" in report.summary()


def _queue(tree: Tree) -> dict[str, Any]:
    return tree[QUEUE][0]


def _gpu_flavor(tree: Tree) -> dict[str, Any]:
    return tree[FLAVORS][1]


CASES = {
    "flavors must have the same number of resources as the coveredResources": (
        lambda t: _queue(t)["spec"]["resourceGroups"][0]["flavors"][0]["resources"].pop(), QUEUE, "spec.resourceGroups[0]"),
    "borrowingLimit must be nil when cohort is empty": (
        lambda t: _queue(t)["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0].update(borrowingLimit="1"), QUEUE, "spec"),
    "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never": (
        lambda t: _queue(t)["spec"]["preemption"].update(reclaimWithinCohort="Never",
                                                         borrowWithinCohort={"policy": "LowerPriority"}),
        QUEUE, "spec.preemption"),
    "preference can only be set when both whenCanBorrow and whenCanPreempt are TryNextFlavor": (
        lambda t: _queue(t)["spec"]["flavorFungibility"].update(preference="BorrowingOverPreemption"), QUEUE,
        "spec.flavorFungibility"),
    "at least one nodeLabel is required when topology is set": (
        lambda t: _gpu_flavor(t)["spec"].update(topologyName="default", nodeLabels={}), FLAVORS, "spec"),
    "supported taint effect values: 'NoSchedule', 'PreferNoSchedule', 'NoExecute'": (
        lambda t: _gpu_flavor(t)["spec"]["nodeTaints"][0].update(effect="NoRun"), FLAVORS, "spec.nodeTaints"),
    "operator must be Exists when 'key' is empty, which means 'match all values and all keys'": (
        lambda t: _gpu_flavor(t)["spec"]["tolerations"].append({"operator": "Equal", "effect": "NoSchedule"}), FLAVORS,
        "spec.tolerations"),
    "effect must be 'NoExecute' when 'tolerationSeconds' is set": (
        lambda t: _gpu_flavor(t)["spec"]["tolerations"][0].update(tolerationSeconds=30), FLAVORS, "spec.tolerations"),
    "supported toleration values: 'Equal'(default), 'Exists'": (
        lambda t: _gpu_flavor(t)["spec"]["tolerations"][0].update(operator="Matches"), FLAVORS, "spec.tolerations"),
    "a value must be empty when 'operator' is 'Exists'": (
        lambda t: _gpu_flavor(t)["spec"]["tolerations"][0].update(value="true"), FLAVORS, "spec.tolerations"),
}


@pytest.mark.parametrize("message", sorted(CASES))
def test_each_kueue_rule_broken_once(catalog: CrdCatalog, message: str) -> None:
    change, file, path = CASES[message]
    problems = cel_problems(broken(change), catalog)
    assert (file, path, message) in problems
    assert len([p for p in problems if p[2] == message]) == 1


def test_problem_points_at_the_emitted_line(catalog: CrdCatalog) -> None:
    from generator.output.serialize import serialize

    tree = broken(CASES["flavors must have the same number of resources as the coveredResources"][0])
    loaded = load_named("default")
    report = validate_tree(tree, catalog=catalog, portfolio=loaded.portfolio, source=loaded.source)
    [problem] = [d for d in report.diagnostics if d.rule == "CRD003"]
    lines = serialize(tree)[QUEUE].splitlines()
    assert problem.line == lines.index("  - coveredResources:") + 1 and problem.column == 5
    assert problem.severity == "error" and problem.origin is not None and "flavors[0].quota" not in problem.origin


def test_defaults_are_applied_before_the_rules_as_the_api_server_does() -> None:
    schema = {"type": "object", "properties": {"mode": {"type": "string", "default": "Never"},
                                               "inner": {"type": "object", "properties": {"n": {"type": "integer", "default": 2}}}},
              "x-kubernetes-validations": [{"rule": "self.mode == 'Never'", "message": "mode"}]}
    assert apply_defaults({"inner": {}}, schema) == {"mode": "Never", "inner": {"n": 2}}
    assert evaluate({}, schema).outcomes == []


def test_a_rule_this_library_cannot_evaluate_is_reported_not_skipped() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}},
              "x-kubernetes-validations": [{"rule": "quantity(self.q).isGreaterThan(quantity('1'))", "message": "big"},
                                           {"rule": "self == oldSelf", "message": "immutable"}]}
    report = evaluate({"q": "2"}, schema)
    [outcome] = report.outcomes
    assert not outcome.failed and "cannot evaluate" in outcome.message
    assert (report.evaluated, report.transition) == (1, 1)


def test_a_rule_that_errors_at_run_time_fails_as_on_the_api_server() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.missing == 1", "message": "needs missing"}]}
    [outcome] = evaluate({}, schema).outcomes
    assert outcome.failed and outcome.message.startswith("needs missing (the rule errored")


def test_validate_command_counts_the_rules(upstream_crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import DEMO
    from generator.cli import main

    assert main(["validate", "--portfolio", str(DEMO), "--crd-dir", str(upstream_crds)]) == 0
    out = capsys.readouterr().out
    assert "CEL rules checked, 0 could not be evaluated" in out

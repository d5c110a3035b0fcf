"""Emitted core-kind documents pass kubernetes-validate (strict, Kubernetes 1.33)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import VALID, render_named
from generator.checks.validate import validate_core, validate_tree


@pytest.mark.parametrize("name", ["default", *VALID])
def test_every_core_document_is_valid(name: str) -> None:
    report = validate_tree(render_named(name))
    assert report.diagnostics == []
    assert report.core_checked >= 2  # at least the registration ConfigMap and Job


def test_default_tree_checks_every_core_document() -> None:
    # 4 Jobs, 3 PVCs, 2 ConfigMaps
    tree = render_named("default")
    core = [d for docs in tree.values() for d in docs if d["apiVersion"] in ("v1", "batch/v1", "rbac.authorization.k8s.io/v1")]
    assert len(core) >= 20 and validate_tree(tree).core_checked == len(core)


def test_a_misspelled_field_in_a_core_document_is_caught() -> None:
    tree = render_named("default")
    job = copy.deepcopy(tree["gitops/step-05-llm-on-vllm/base/model-registration/register-models.yaml"][0])
    job["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    core, problem = validate_core(job)
    assert core and problem is not None
    path, message = problem
    assert list(path) == ["spec", "template", "spec", "containers", 0, "imagePullPolicyy"]
    assert "imagePullPolicyy" in message


from conftest import DEMO, ROOT, emitted_line, line_of, load_named  # noqa: E402
from generator.checks.crds import CrdCatalog  # noqa: E402

MINI_CRDS = ROOT / "tests" / "fixtures" / "crds" / "mini"
ISVC = "gitops/step-05-llm-on-vllm/base/inference/granite-8b-agent.yaml"
QUEUE = "gitops/step-05-llm-on-vllm/base/kueue/cluster-queue.yaml"


def _validate(tree, **kwargs):
    loaded = load_named("default")
    return validate_tree(tree, catalog=CrdCatalog.from_dirs([MINI_CRDS]), portfolio=loaded.portfolio,
                         source=loaded.source, **kwargs)


def test_misspelled_field_in_an_inference_service_names_file_document_field_and_portfolio_line() -> None:
    tree = copy.deepcopy(render_named("default"))
    model = tree[ISVC][0]["spec"]["predictor"]["model"]
    model["storageUrl"] = model.pop("storageUri")
    report = _validate(tree, allow_missing=True)
    [problem] = report.diagnostics
    assert (problem.file, problem.rule, problem.path) == (ISVC, "CRD002", "spec.predictor.model.storageUrl")
    from generator.output.serialize import serialize

    lines = serialize(tree)[ISVC].splitlines()
    assert (problem.line, problem.column) == (lines.index("      storageUrl: s3://models/granite-3.1-8b-instruct-fp8/") + 1, 7)
    assert problem.message.startswith("InferenceService/private-ai/granite-8b-agent: Additional properties")
    weights = line_of(DEMO, "    weights:", after="  - name: granite-8b-agent")
    assert problem.origin == f"portfolio.yaml:{weights}:5 models[4].weights"


def test_wrong_enum_value_in_the_cluster_queue() -> None:
    tree = copy.deepcopy(render_named("default"))
    tree[QUEUE][0]["spec"]["queueingStrategy"] = "FIFO"
    [problem] = _validate(tree, allow_missing=True).diagnostics
    assert (problem.file, problem.path, problem.line) == (QUEUE, "spec.queueingStrategy",
                                                          emitted_line(tree, QUEUE, "  queueingStrategy: FIFO"))
    assert "'FIFO' is not one of ['StrictFIFO', 'BestEffortFIFO']" in problem.message
    assert problem.origin == f"portfolio.yaml:{line_of(DEMO, 'kueue:')}:1 kueue"


def test_missing_required_field() -> None:
    tree = copy.deepcopy(render_named("default"))
    del tree[ISVC][0]["spec"]["predictor"]["model"]["modelFormat"]
    [problem] = _validate(tree, allow_missing=True).diagnostics
    assert problem.path == "spec.predictor.model" and "'modelFormat' is a required property" in problem.message


def test_custom_resource_without_schema_is_an_error_unless_allowed() -> None:
    tree = render_named("default")
    strict = _validate(tree)
    missing = sorted({d.message.split(":")[0] for d in strict.diagnostics if d.rule == "CRD001"})
    # The mini CRDs know InferenceService and the Kueue queues; every other custom kind has no schema there.
    assert missing == ["AppProject/openshift-gitops/gpuaas-portfolio", "Application/openshift-gitops/app-of-apps",
                       "Application/openshift-gitops/step-05-llm-on-vllm",
                       "ResourceFlavor/default-flavor", "ResourceFlavor/nvidia-l4-1gpu",
                       "ResourceFlavor/nvidia-l4-4gpu", "ServingRuntime/private-ai/vllm-runtime"]
    allowed = _validate(tree, allow_missing=True)
    assert allowed.diagnostics == []
    assert (allowed.custom_checked, len(allowed.skipped)) == (7, len(missing))
    assert allowed.core_checked == strict.core_checked > 0


# Where the real API server (tests/box/test_parity.py) proved K8S001 and CRD002 wrong: each case reproduced here.

REGISTRATION = "gitops/step-05-llm-on-vllm/base/model-registration/register-models.yaml"


def _core_document(kind: str) -> dict:
    return copy.deepcopy(next(d for docs in render_named("default").values() for d in docs if d["kind"] == kind))


def test_a_role_binding_without_role_ref_api_group_is_valid_as_the_api_server_defaults_it() -> None:
    binding = _core_document("RoleBinding")
    del binding["roleRef"]["apiGroup"]  # the API server's defaulting sets rbac.authorization.k8s.io
    assert validate_core(binding) == (True, None)
    assert "apiGroup" not in binding["roleRef"]  # validated as defaulted; the document itself is left as written
    del binding["roleRef"]["name"]  # no default for the name: still refused
    core, problem = validate_core(binding)
    assert problem is not None and problem[0] == ("roleRef",) and "'name' is a required property" in problem[1]


def test_a_value_outside_the_enum_the_api_server_publishes_is_refused() -> None:
    job = _core_document("Job")
    job["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"  # Kubernetes 1.33's OpenAPI v3: Always, Never, OnFailure
    core, problem = validate_core(job)
    assert problem is not None and problem[0] == ("spec", "template", "spec", "restartPolicy")
    assert "'Sometimes' is not one of ['Always', 'Never', 'OnFailure', None]" in problem[1]
    claim = _core_document("PersistentVolumeClaim")
    claim["spec"]["accessModes"] = ["ReadMostly"]  # the enum of a list's items
    core, problem = validate_core(claim)
    assert problem is not None and problem[0] == ("spec", "accessModes", 0)
    claim["spec"]["accessModes"] = ["ReadWriteOncePod"]
    assert validate_core(claim) == (True, None)


def test_the_metadata_of_a_custom_resource_is_checked_as_the_api_server_checks_every_object_metadata() -> None:
    tree = copy.deepcopy(render_named("default"))
    meta = tree[QUEUE][0]["metadata"]
    meta["labels"]["example.com/count"] = 7  # a label's value is a string
    meta["parityUnknownField"] = "x"  # ObjectMeta has no such field
    found = {(d.rule, d.path): d for d in _validate(tree, allow_missing=True).diagnostics}
    assert set(found) == {("CRD002", 'metadata.labels["example.com/count"]'), ("CRD002", "metadata.parityUnknownField")}
    assert all("(ObjectMeta, Kubernetes 1.33 OpenAPI)" in d.message for d in found.values())


def test_two_items_with_the_same_key_in_a_list_the_api_server_keeps_as_a_map_are_refused(upstream_crds: Path) -> None:
    job = _core_document("Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]
    core, problem = validate_core(job)  # env: x-kubernetes-list-type map, keyed by name
    assert problem is not None and problem[0] == ("spec", "template", "spec", "containers", 0, "env", 2)
    assert "items 0 and 2 have the same name='A'" in problem[1]
    container["env"][2]["name"] = "C"
    assert validate_core(job) == (True, None)

    tree = copy.deepcopy(render_named("default"))
    flavors = tree[QUEUE][0]["spec"]["resourceGroups"][0]["flavors"]
    flavors.append(copy.deepcopy(flavors[0]))  # a ClusterQueue's flavors: a map keyed by name
    report = validate_tree(tree, catalog=CrdCatalog.from_dirs([upstream_crds]), allow_missing=True)
    [problem] = [d for d in report.diagnostics if d.rule == "CRD002"]
    assert problem.path == f"spec.resourceGroups[0].flavors[{len(flavors) - 1}]"
    assert "the API server keeps this list as a map by those keys" in problem.message

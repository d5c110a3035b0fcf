"""The parts of the box that need no running control plane: Argo CD's sync order and health, the Nodes made from
the portfolio, the prerequisites, the box's process bookkeeping and certificates."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from conftest import DEMO, load_named
from generator.admission.plan import ModelState
from generator.cli import main
from generator.sandbox.apply import application_documents, sync_order
from generator.sandbox.box import Box
from generator.sandbox.certs import Certs
from generator.sandbox.errors import SandboxError
from generator.sandbox.health import administrator_checks, custom_checks, lua_health, resource_health
from generator.sandbox.live import Live
from generator.sandbox.nodes import node_documents
from generator.sandbox.prereqs import namespaces, secrets, storage
from generator.sandbox.replay import Difference, Row, ScenarioReplay, StepResult, replay_markdown


def _doc(kind: str, name: str, wave: int | None = None, namespace: str | None = None, api: str = "v1") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if wave is not None:
        meta["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def test_sync_order_is_wave_then_argo_cd_kind_order_then_name_with_custom_kinds_last() -> None:
    docs = [_doc("Job", "b", 1, "ns", "batch/v1"), _doc("ClusterQueue", "q", 0, api="kueue.x-k8s.io/v1beta1"),
            _doc("ConfigMap", "z", 1, "ns"), _doc("ServiceAccount", "a", 1, "ns"), _doc("PersistentVolumeClaim", "p", 1, "ns"),
            _doc("Role", "r", 0, "ns", "rbac.authorization.k8s.io/v1"), _doc("ConfigMap", "c", 1, "ns")]
    assert [(r.wave, r.kind, r.name) for r in sync_order(docs)] == [
        (0, "Role", "r"), (0, "ClusterQueue", "q"),
        (1, "ServiceAccount", "a"), (1, "ConfigMap", "c"), (1, "ConfigMap", "z"), (1, "PersistentVolumeClaim", "p"),
        (1, "Job", "b")]


def test_a_namespace_in_a_later_wave_moves_before_its_first_resource_and_takes_its_wave() -> None:
    docs = [_doc("ConfigMap", "c", 0, "team"), _doc("Namespace", "team", 2), _doc("Secret", "s", 0, "other")]
    order = sync_order(docs)
    assert [(r.wave, r.kind, r.name) for r in order] == [(0, "Secret", "s"), (0, "Namespace", "team"), (0, "ConfigMap", "c")]


def test_the_demo_tree_syncs_in_its_four_waves_with_the_inference_services_last() -> None:
    tree = load_named("default").tree
    order = sync_order(application_documents(tree, "step-05-llm-on-vllm"))
    assert sorted({r.wave for r in order}) == [0, 1, 2, 3]
    assert {r.kind for r in order if r.wave == 3} == {"InferenceService"}
    assert all(not path.endswith("kustomization.yaml") for path in tree if any(d is r.doc for r in order for d in tree[path]))


def test_hooks_are_refused_rather_than_applied_as_plain_resources() -> None:
    hook = _doc("Job", "migrate", 0, "ns", "batch/v1")
    hook["metadata"]["annotations"]["argocd.argoproj.io/hook"] = "PreSync"
    with pytest.raises(SandboxError, match="hooks"):
        sync_order([hook])


def _job(*conditions: tuple[str, str]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "status": {"conditions": [{"type": t, "status": s, "message": f"{t} {s}"} for t, s in conditions]}}


@pytest.mark.parametrize(("conditions", "status"), [
    ((), "Progressing"), ((("Complete", "True"),), "Healthy"), ((("Failed", "True"),), "Degraded"),
    ((("Suspended", "True"),), "Suspended"),
    ((("Suspended", "False"),), "Healthy"),  # gitops-engine counts any Suspended condition as complete
])
def test_job_health_is_gitops_engines(conditions: tuple[tuple[str, str], ...], status: str) -> None:
    health = resource_health(_job(*conditions), {})
    assert health is not None and health.status == status


@pytest.mark.parametrize(("phase", "status"), [("Pending", "Progressing"), ("Bound", "Healthy"), ("Lost", "Degraded")])
def test_claim_health_follows_its_phase_as_argo_cd_3_1_does(phase: str, status: str) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "status": {"phase": phase}}
    health = resource_health(claim, {})
    assert health is not None and health.status == status


def test_kinds_without_a_health_check_have_none_and_deletion_is_progressing() -> None:
    assert resource_health(_doc("ConfigMap", "c"), {}) is None
    assert resource_health(_doc("ClusterQueue", "q", api="kueue.x-k8s.io/v1beta1"), {}) is None
    deleting = _job(("Complete", "True"))
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    health = resource_health(deleting, {})
    assert health is not None and (health.status, health.message) == ("Progressing", "Pending deletion")


def test_the_runbooks_health_check_of_an_inference_service_runs_as_lua() -> None:
    documents = [d for docs in load_named("default").tree.values() for d in docs]
    assert custom_checks(documents) == {}  # the tree ships no ArgoCD object: it would replace the instance's list
    checks = administrator_checks()
    assert set(checks) == {("serving.kserve.io", "InferenceService"), ("batch", "Job")}
    service = next(d for d in documents if d["kind"] == "InferenceService")
    service = {**service, "metadata": {**service["metadata"], "annotations": {}},
               "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Stopped", "status": "False"}]}}
    health = resource_health(service, checks)
    assert health is not None and (health.status, health.message) == ("Healthy", "Ready")
    resumed = _job(("Suspended", "False"))  # admitted by Kueue and running: the built-in check says Healthy
    resumed["metadata"]["labels"] = {"kueue.x-k8s.io/queue-name": "default"}
    builtin, ours = resource_health(resumed, {}), resource_health(resumed, checks)
    assert builtin is not None and ours is not None and (builtin.status, ours.status) == ("Healthy", "Progressing")


def test_the_lua_vm_has_only_the_libraries_argo_cd_opens() -> None:
    probe = lua_health({}, 'return {status = tostring(string) .. " " .. tostring(io) .. " " .. tostring(math), '
                           'message = tostring(os.exit) .. " " .. type(os.time) .. " " .. type(table.insert)}')
    assert (probe.status, probe.message) == ("nil nil nil", "nil function function")
    method = lua_health({}, 'local s = "x"; return {status = s:upper(), message = ""}')
    assert method.status == "Unknown" and "attempt to index" in method.message
    seen = lua_health({"metadata": {"name": "m"}, "items": [{"v": 1}, {"v": 2}]},
                      'local n = 0; for _, i in ipairs(obj.items) do n = n + i.v end; '
                      'return {status = obj.metadata.name, message = tostring(n)}')
    assert (seen.status, seen.message) == ("m", "3")


def test_nodes_are_plans_pools_and_cpu_workers() -> None:
    loaded = load_named("default")
    nodes = {n["metadata"]["name"]: n for n in node_documents(loaded.portfolio, loaded.tree)}
    for flavor in loaded.portfolio.flavors:
        for index in range(1, flavor.nodes + 1):
            node = nodes[f"{flavor.name}-{index}"]
            assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == flavor.instance_type
            assert node["status"]["allocatable"]["nvidia.com/gpu"] == str(flavor.gpus_per_node)
            assert node["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
            assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    workers = [n for name, n in nodes.items() if name.startswith("worker-")]
    assert workers and all("taints" not in w["spec"] and "nvidia.com/gpu" not in w["status"]["allocatable"] for w in workers)
    assert len(nodes) == sum(f.nodes for f in loaded.portfolio.flavors) + len(workers)


def test_an_environment_gets_its_own_cluster_nodes() -> None:
    from generator.model.environments import environment_named, environment_portfolio
    from generator.render import render

    loaded = load_named("environments")
    for env in loaded.portfolio.environments:
        portfolio = environment_portfolio(loaded.portfolio, env)
        names = [n["metadata"]["name"] for n in node_documents(portfolio, render(portfolio)) if not n["metadata"]["name"].startswith("worker-")]
        assert names == [f"{f.name}-{i}" for f in portfolio.flavors for i in range(1, f.nodes + 1)]
        assert environment_named(loaded.portfolio, env.name) is env


@pytest.mark.parametrize("name", ["default", "teams"])
def test_prerequisites_cover_every_namespace_and_claim_and_hold_no_real_secret(name: str) -> None:
    from generator.model.derive import serving_namespaces

    loaded = load_named(name)
    portfolio, tree = loaded.portfolio, loaded.tree
    made = {n["metadata"]["name"]: n for n in namespaces(portfolio, tree)}
    used = {d["metadata"]["namespace"] for docs in tree.values() for d in docs if d.get("metadata", {}).get("namespace")}
    assert used <= set(made)
    found = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets(portfolio)}
    for namespace in serving_namespaces(portfolio):  # a team's too: its Secrets come before the tree's models
        assert made[namespace]["metadata"]["labels"] == {"kueue.openshift.io/managed": "true"}
        connection = found[(namespace, portfolio.storage.s3.connection_secret)]
        assert connection["metadata"]["annotations"] == {"opendatahub.io/connection-type": "s3"}
        entry = json.loads(found[(namespace, "storage-config")]["stringData"][portfolio.storage.s3.connection_secret])
        assert entry["type"] == "s3" and entry["bucket"] == portfolio.storage.s3.bucket
    values = [v for s in found.values() for v in s["stringData"].values()]
    assert all("fake" in v or "://" in v or v in (portfolio.storage.s3.bucket, "us-east-1") for v in values if "{" not in v)
    objects = storage(portfolio, tree)
    claims = [d for docs in tree.values() for d in docs if d.get("kind") == "PersistentVolumeClaim"]
    volumes = [o for o in objects if o["kind"] == "PersistentVolume"]
    assert objects[0]["metadata"]["name"] == portfolio.storage.s3.storage_class
    assert sorted(v["spec"]["capacity"]["storage"] for v in volumes) == sorted(c["spec"]["resources"]["requests"]["storage"] for c in claims)


def test_the_box_records_processes_stops_them_from_another_box_object_and_names_a_dead_one(tmp_path: Path) -> None:
    class Sleeper:
        name = "sleeper"

        def start(self, box: Box) -> None:
            box.spawn(self.name, ["sleep", "60"])
            box.wait_until(self.name, lambda: True, 5)

    class Dies:
        name = "dies"

        def start(self, box: Box) -> None:
            box.spawn(self.name, ["sh", "-c", "echo the reason it died; exit 3"])
            box.wait_until(self.name, lambda: False, 10)

    box = Box(tmp_path / "box", progress=lambda line: None)
    box.start([Sleeper()])
    assert box.running() == ["sleeper"] and box.port("x") == box.port("x") != box.port("y")
    assert Box(tmp_path / "box").port("x") == box.port("x")  # recorded for other processes
    assert Box(tmp_path / "box").stop() == ["sleeper"] and box.running() == []
    with pytest.raises(SandboxError, match=r"dies exited \(code 3\)[\s\S]*the reason it died"):
        box.start([Sleeper(), Dies()])
    assert box.running() == []  # a failed start stops what it started


def test_wait_until_names_the_component_and_its_last_check(tmp_path: Path) -> None:
    box = Box(tmp_path / "box", progress=lambda line: None)
    started = time.monotonic()
    with pytest.raises(SandboxError, match=r"thing was not serving after 1 s \(last check: OSError: refused\)"):
        box.wait_until("thing", lambda: (_ for _ in ()).throw(OSError("refused")), 1, what="serving")
    assert time.monotonic() - started < 5


def test_certificates_chain_to_the_box_ca_with_the_names_and_groups_asked_for(tmp_path: Path) -> None:
    certs = Certs(tmp_path)
    ca = x509.load_pem_x509_certificate(certs.ca_pem)
    leaf = x509.load_pem_x509_certificate(certs.leaf("webhook", ["127.0.0.1", "svc.local"]).cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["svc.local"]
    admin = x509.load_pem_x509_certificate(certs.admin().cert.read_bytes())
    assert [a.value for a in admin.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    assert admin.not_valid_after_utc > datetime.datetime.now(datetime.UTC)
    assert Certs(tmp_path).ca_pem == certs.ca_pem  # one CA per box, reused


def _replay_of(differs: bool) -> ScenarioReplay:
    plan = ModelState("granite|tiny", 1, "admitted", flavor="nvidia-l4-1gpu", node="l4-1gpu-0")
    live = Live("pending" if differs else "admitted", None if differs else "nvidia-l4-1gpu",
                None if differs else "l4-1gpu-0", "Pending (gated)" if differs else "Running", "False", "False")
    row = Row("granite|tiny", "admitted on nvidia-l4-1gpu", plan, live, live.state, 1)
    found = [Difference(1, "start granite", "granite|tiny", "state", "admitted on nvidia-l4-1gpu", "pending")] if differs else []
    step = StepResult(1, "start granite", ["start granite|tiny"], [row], found, 4.2)
    return ScenarioReplay("handover", [step])


@pytest.mark.parametrize("differs", [False, True])
def test_a_replay_in_markdown_is_one_table_per_step_with_its_verdict(differs: bool) -> None:
    """`sandbox --format markdown` (the pull request's summary): a heading with the scenario's verdict, per step a
    table whose row marks a model that differs, with the difference listed below; a `|` in a cell is escaped so the
    table keeps its columns."""
    text = replay_markdown(_replay_of(differs))
    heading = text.splitlines()[0]
    assert heading.startswith("### Scenario `handover`: ") and ("1 difference(s)" in heading) == differs
    rows = [line for line in text.splitlines() if line.startswith("| ") and "granite" in line]
    assert len(rows) == 1 and rows[0].count(" | ") == 7 and "granite\\|tiny" in rows[0]
    assert rows[0].startswith("| ❌ |") == differs
    assert ("- ❌ step 1 (start granite): granite\\|tiny: state" in text) == differs


@pytest.mark.parametrize(("args", "says"), [
    (["--all-scenarios", "--scenario", "resource-handover"], "give it or --scenario NAME, not both"),
    (["--scenario", "no-such-scenario"], "unknown scenario 'no-such-scenario'; scenarios: "),
])
def test_sandbox_refuses_a_scenario_choice_before_building_anything(args: list[str], says: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    state = tmp_path / "state"
    code = main(["sandbox", "--portfolio", str(DEMO), "--crd-dir", str(crds), "--state", str(state), *args])
    assert code == 2 and says in capsys.readouterr().err
    assert not state.exists(), "a refused command starts nothing"


def test_a_refused_kubectl_call_names_the_component_that_died_with_its_log(tmp_path: Path) -> None:
    """A controller that dies mid-run (its webhook then refuses every call) is named in the error of the next call
    that fails, with the end of its log, rather than leaving only "connection refused"."""
    class Webhook:
        name = "webhook"

        def start(self, box: Box) -> None:
            box.spawn(self.name, ["sh", "-c", "echo serving; sleep 0.3; echo out of memory; exit 2"])
            box.wait_until(self.name, lambda: True, 5)

    box = Box(tmp_path / "box", progress=lambda line: None)
    box.start([Webhook()])
    box.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    box.kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n", encoding="utf-8")
    deadline = time.monotonic() + 10
    while box.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert box.dead() == ["webhook"]
    with pytest.raises(SandboxError, match=r"webhook is not running \(exit code 2\)[\s\S]*out of memory"):
        box.kubectl("get", "--raw", "/healthz", timeout=20)
    box.stop()

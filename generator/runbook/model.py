"""The demo's standard operating procedure as data: sections of prose, commands and expected output.

Everything a command names comes from the portfolio or the rendered tree (`RunbookFacts`), and the
expected admission comes from the simulator. `generator.runbook.sections` builds the sections;
`generator.runbook.formats` turns them into markdown, a shell script or a Jupyter notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlparse

from generator.admission.plan import Snapshot
from generator.admission.scenarios import ScenarioRun
from generator.model.derive import Upload, storage_tier, uploads
from generator.model.portfolio import Model, Portfolio
from generator.render.argocd import APP_OF_APPS_DIR, BOOTSTRAP_DIR, serving_tree_path
from generator.render.common import Tree
from generator.render.registration import JOB as REGISTRATION_JOB

# run: part of the shell script; show: read-only or interactive, left out of the script;
# simulated: what the simulator predicts for a case the tree cannot produce (e.g. RollingUpdate).
Mode = Literal["run", "show", "simulated"]
SECTIONS = ("prerequisites", "deploy", "verify", "scenario", "smoke-test", "troubleshoot", "cleanup")


@dataclass(frozen=True)
class Command:
    line: str  # one shell command line
    expect: str = ""  # what the operator should see
    unless: str = ""  # a check: when it succeeds, the command is skipped (the thing exists already)


@dataclass
class Block:
    text: str = ""
    commands: list[Command] = field(default_factory=list)
    mode: Mode = "run"


@dataclass
class Section:
    key: str
    title: str
    intro: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def function(self) -> str:
        return "section_" + self.key.replace(" ", "_").replace("-", "_")


@dataclass(frozen=True)
class RunbookFacts:
    """The names the runbook uses, each read from the portfolio or the rendered tree."""

    portfolio: Portfolio
    tree: Tree
    baseline: Snapshot

    @property
    def namespace(self) -> str:
        return self.portfolio.namespace

    @property
    def gpu(self) -> str:
        return self.portfolio.cluster.gpu_resource

    @property
    def upload_namespace(self) -> str:
        return self.portfolio.storage.s3.upload_namespace

    @property
    def registry_namespace(self) -> str:
        return self.portfolio.model_registry.namespace

    @property
    def argocd_namespace(self) -> str:
        return self.portfolio.gitops.argocd_namespace

    @property
    def serving_tree(self) -> str:
        return serving_tree_path(self.portfolio)

    app_of_apps_dir = APP_OF_APPS_DIR
    bootstrap_dir = BOOTSTRAP_DIR
    registration_job = REGISTRATION_JOB

    @property
    def models(self) -> list[Model]:
        return list(self.portfolio.models)

    @property
    def active(self) -> list[Model]:
        return [m for m in self.portfolio.models if m.state == "active"]

    @property
    def uploads(self) -> list[Upload]:
        return uploads(self.portfolio)

    @property
    def namespaces(self) -> list[str]:
        """Every namespace the tree puts something in."""
        found = {d["metadata"]["namespace"] for docs in self.tree.values() for d in docs
                 if (d.get("metadata") or {}).get("namespace")}
        return sorted(found)

    def s3_models(self) -> list[Model]:
        return [m for m in self.portfolio.models if storage_tier(m, self.portfolio) == "s3"]

    def oci_models(self) -> list[Model]:
        return [m for m in self.portfolio.models if storage_tier(m, self.portfolio) == "oci"]

    @property
    def minio_service(self) -> tuple[str, str, int]:
        """(service, namespace, port) of the S3 endpoint, e.g. minio.minio-storage.svc:9000."""
        parsed = urlparse(self.portfolio.storage.s3.endpoint)
        host = parsed.hostname or "minio"
        parts = host.split(".")
        namespace = parts[1] if len(parts) > 1 else self.upload_namespace
        return parts[0], namespace, parsed.port or 80


def predictor(model: str) -> str:
    return f"{model}-predictor"


def env_name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).upper()


def workloads_command(namespace: str, gpu: str) -> str:
    """Kueue's Workloads with the pod they gate, whether admitted, and the GPU flavor."""
    flavor = ".status.admission.podSetAssignments[0].flavors." + gpu.replace(".", "\\.")
    columns = (f'POD:.metadata.ownerReferences[0].name,ADMITTED:.status.conditions[?(@.type=="Admitted")].status,'
               f"FLAVOR:{flavor}")
    return f"oc get workloads -n {namespace} -o custom-columns='{columns}'"


def admission_lines(snapshot: Snapshot, names: list[str]) -> str:
    """The simulated answer of `workloads_command`: one row per model pod, then why the others wait."""
    rows = [("POD", "ADMITTED", "FLAVOR")]
    why = []
    for model in snapshot.models:
        if model.state == "off":
            if model.name in names:
                why.append(f"{model.name}: scaled to zero, no pod")
            continue
        rows.append((f"{predictor(model.name)}-<hash>", "True" if model.state == "admitted" else "False",
                     model.flavor or "<none>"))
        if model.state != "admitted":
            why.append(f"{model.name}: {model.state}" + (f" ({model.reason})" if model.reason else ""))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    table = ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(table + why)


def scenario_section(facts: RunbookFacts, run: ScenarioRun) -> Section:
    ns = facts.namespace
    section = Section(f"scenario {run.scenario.name}", f"Scenario: {run.scenario.name}", run.scenario.description)
    start = [Command(f"oc scale deployment {predictor(m.name)} -n {ns} --replicas={1 if m.state == 'active' else 0}")
             for m in facts.models]
    section.blocks.append(Block(
        "Start from the baseline: the active models at one replica, the others at zero. Kueue makes one Workload "
        "per predictor pod; the expected admission is the simulator's.",
        [*start, Command(workloads_command(ns, facts.gpu), admission_lines(run.baseline, [m.name for m in facts.active]))]))
    for number, step_run in enumerate(run.steps, start=1):
        step = step_run.step
        commands = [Command(f"oc scale deployment {predictor(m)} -n {ns} --replicas=0") for m in step.disable]
        commands += [Command(f"oc scale deployment {predictor(m)} -n {ns} --replicas=1") for m in step.enable]
        commands += [Command(f"oc rollout restart deployment/{predictor(m)} -n {ns}") for m in step.update]
        named = [*step.enable, *step.disable, *step.update, *step.expect]
        commands.append(Command(workloads_command(ns, facts.gpu), admission_lines(step_run.snapshot, named)))
        text = f"Step {number}: {step.title}."
        simulated = bool(step.update) and step.strategy not in (None, "Recreate")
        if simulated:
            text += (" Simulated only: the tree renders the Recreate strategy, so the cluster does not do this; "
                     f"the simulator shows what {step.strategy} would do.")
        text += "".join(f" Note: {n}." for n in step_run.snapshot.notes)
        section.blocks.append(Block(text, commands, "simulated" if simulated else "run"))
    return section

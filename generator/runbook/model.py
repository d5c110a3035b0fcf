"""The demo's standard operating procedure as data: sections of prose, commands and expected output.

Everything a command names comes from the portfolio or the rendered tree (`RunbookFacts`), and the
expected admission comes from the simulator. Every command line is assembled by `sh`, the one place
that quotes: a value from the portfolio is always one shell word, whatever characters it holds; only
`Raw` text written here in the code (pipes, `$VAR`, redirections) reaches the shell as syntax.
`generator.runbook.sections` builds the sections; `generator.runbook.formats` renders them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal
from urllib.parse import urlparse

from generator.admission.plan import Snapshot
from generator.model.derive import Upload, model_namespace, registrations, serving_namespaces, storage_tier, uploads
from generator.model.portfolio import Model, Portfolio
from generator.render.applications import AppRoot, rendered_roots
from generator.render.argocd import APP_OF_APPS_DIR, BOOTSTRAP_DIR, serving_tree_path
from generator.render.common import Document, Tree
from generator.render.inference import STOP_ANNOTATION

COMPONENT = "app.kubernetes.io/component"
# run: part of the shell script; show: read-only, interactive or manual, left out of the script;
# simulated: what the simulator predicts for a case the tree cannot produce (e.g. RollingUpdate).
Mode = Literal["run", "show", "simulated"]
SECTIONS = ("prerequisites", "deploy", "verify", "scenario", "smoke-test", "troubleshoot", "cleanup")


class Raw(str):
    """Shell syntax written by the generator itself (`|`, `$VAR`, `>/dev/null`): passed through unquoted."""


class Shell(str):
    """A command line assembled by `sh`; `Command` accepts nothing else."""


def sh(*parts: str | int) -> Shell:
    """One command line: every part is quoted as a single word unless it is `Raw` (or a line `sh` made)."""
    return Shell(" ".join(p if isinstance(p, (Raw, Shell)) else shlex.quote(str(p)) for p in parts))


def word(*parts: str | int) -> Raw:
    """One shell word from pieces, each quoted unless `Raw`: `word("--from-literal=", key, "=", Raw('"$VALUE"'))`."""
    return Raw("".join(p if isinstance(p, (Raw, Shell)) else shlex.quote(str(p)) for p in parts))


def capture(variable: str, command: Shell) -> Shell:
    """`VARIABLE=$(command)`; the variable name is the generator's, made by `shell_variable`."""
    if not _VARIABLE.fullmatch(variable):
        raise ValueError(f"not a shell variable name: {variable!r}")
    return Shell(f"{variable}=$({command})")


@dataclass(frozen=True)
class Command:
    line: Shell  # one shell command line
    expect: str = ""  # what the operator should see
    unless: Shell | None = None  # a check: when it succeeds, the command is skipped (the thing exists already)

    def __post_init__(self) -> None:
        for part in (self.line, self.unless):
            if part is not None and not isinstance(part, Shell):
                raise TypeError("commands are assembled by sh(), which quotes every value")


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
        return "section_" + env_name(self.key).lower()


@dataclass(frozen=True)
class RunbookFacts:
    """The names the runbook uses, each read from the portfolio or the rendered tree."""

    portfolio: Portfolio
    tree: Tree
    baseline: Snapshot

    @property
    def serving_namespaces(self) -> list[str]:
        return serving_namespaces(self.portfolio)

    def namespace_of(self, model: str) -> str:
        return self._namespaces[model]

    @cached_property
    def _namespaces(self) -> dict[str, str]:
        return {m.name: model_namespace(m, self.portfolio) for m in self.portfolio.models}

    @property
    def scope(self) -> tuple[str, ...]:
        """Where to list the models' objects: their one namespace, or every namespace with teams."""
        namespaces = self.serving_namespaces
        return ("-n", namespaces[0]) if len(namespaces) == 1 else ("-A",)

    def by_namespace(self, models: Sequence[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for name in models:
            grouped.setdefault(self.namespace_of(name), []).append(name)
        return grouped

    @property
    def local_queues(self) -> list[tuple[str, str]]:
        """(namespace, ClusterQueue) of each LocalQueue the tree holds."""
        return [(str(d["metadata"]["namespace"]), str(d["spec"]["clusterQueue"])) for d in self.documents("LocalQueue")]

    def queue_of(self, model: str) -> str:
        return dict(self.local_queues)[self.namespace_of(model)]

    @property
    def created_namespaces(self) -> list[str]:
        """The namespaces the tree itself creates (the teams')."""
        return [str(d["metadata"]["name"]) for d in self.documents("Namespace")]

    @property
    def gpu(self) -> str:
        return self.portfolio.cluster.gpu_resource

    @property
    def upload_namespaces(self) -> list[str]:
        """Where the upload Jobs run: the upload namespace, or each team's namespace that has uploads."""
        return list(dict.fromkeys(u.namespace for u in self.uploads))

    def uploads_in(self, namespace: str) -> list[Upload]:
        return [u for u in self.uploads if u.namespace == namespace]

    @cached_property
    def roots(self) -> list[AppRoot]:
        """The Applications of the serving tree (one, or the platform's and each team's)."""
        return rendered_roots(self.portfolio, self.tree)

    @property
    def applications(self) -> list[str]:
        return [root.name(self.portfolio) for root in self.roots]

    @property
    def serving_applications(self) -> list[str]:
        """The Applications whose last wave is the models."""
        return [root.name(self.portfolio) for root in self.roots if root.role in ("serving", "team")]

    def application_of(self, model: str) -> str:
        """The Application that serves the model."""
        namespace = self.namespace_of(model)
        return next(root.name(self.portfolio) for root in self.roots
                    if root.role == "serving" or (root.role == "team" and root.namespace == namespace))

    def sync_options(self, application: str) -> list[str]:
        """The sync options of an Application of the tree (a sync asked for by hand must carry them itself)."""
        return next(list(d["spec"]["syncPolicy"]["syncOptions"]) for d in self.documents("Application")
                    if d["metadata"]["name"] == application)

    def application_paths(self) -> list[str]:
        return [root.base_path(self.portfolio) for root in self.roots]

    @property
    def argocd_namespace(self) -> str:
        return self.portfolio.gitops.argocd_namespace

    @property
    def serving_tree(self) -> str:
        return serving_tree_path(self.portfolio)

    app_of_apps_dir = APP_OF_APPS_DIR
    bootstrap_dir = BOOTSTRAP_DIR

    @property
    def models(self) -> list[Model]:
        return list(self.portfolio.models)

    @property
    def active(self) -> list[Model]:
        return [m for m in self.portfolio.models if m.state == "active"]

    @property
    def uploads(self) -> list[Upload]:
        return uploads(self.portfolio)

    def documents(self, kind: str) -> list[Document]:
        return [d for docs in self.tree.values() for d in docs if d.get("kind") == kind]

    def upload_job(self, upload: Upload) -> str:
        """The upload Job's name as rendered (its base name plus a hash of its input)."""
        return next(str(j["metadata"]["name"]) for j in self.documents("Job")
                    if j["metadata"].get("namespace") == upload.namespace
                    and any((v.get("persistentVolumeClaim") or {}).get("claimName") == upload.name
                            for v in j["spec"]["template"]["spec"].get("volumes") or []))

    @property
    def registration_jobs(self) -> list[tuple[str, list[str], list[Model]]]:
        """(namespace, Job names, models) of each registration: one, or one per team with models; a Job per shard of
        its model list (one for most portfolios)."""
        found = []
        for namespace, models in registrations(self.portfolio):
            jobs = [str(j["metadata"]["name"]) for j in self.documents("Job") if j["metadata"].get("namespace") == namespace
                    and j["metadata"]["labels"].get(COMPONENT) == "model-registration"]
            found.append((namespace, jobs, models))
        return found

    @property
    def namespaces(self) -> list[str]:
        """Every namespace the tree puts something in."""
        found = {d["metadata"]["namespace"] for docs in self.tree.values() for d in docs
                 if (d.get("metadata") or {}).get("namespace")}
        return sorted(found)

    def s3_models(self) -> list[Model]:
        return [m for m in self.portfolio.models if storage_tier(m, self.portfolio) == "s3"]

    @property
    def s3_namespaces(self) -> list[str]:
        """The namespaces that need the S3 data connection: those of the S3 models."""
        return list(dict.fromkeys(model_namespace(m, self.portfolio) for m in self.s3_models()))

    def oci_models(self) -> list[Model]:
        return [m for m in self.portfolio.models if storage_tier(m, self.portfolio) == "oci"]

    @property
    def minio_service(self) -> tuple[str, str, int]:
        """(service, namespace, port) of the S3 endpoint, e.g. minio.minio-storage.svc:9000."""
        parsed = urlparse(self.portfolio.storage.s3.endpoint)
        host = parsed.hostname or "minio"
        parts = host.split(".")
        namespace = parts[1] if len(parts) > 1 else self.portfolio.storage.s3.upload_namespace
        try:
            port = parsed.port or 80
        except ValueError:  # the schema admits only numeric ports; never fail on what it let through
            port = 80
        return parts[0], namespace, port


def predictor(model: str) -> str:
    return f"{model}-predictor"


def env_name(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else "_" for c in text).upper()


_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")


def shell_variable(name: str, suffix: str) -> str:
    """A shell variable for a model or flavor (`MISTRAL_3_INT4_URL`); a name that starts with a digit
    (3-mistral-int4) gets a prefix, since a shell variable cannot (`MODEL_3_MISTRAL_INT4_URL`)."""
    variable = f"{env_name(name)}_{suffix}"
    return variable if _VARIABLE.fullmatch(variable) else f"MODEL_{variable}"


def escape_key(key: str) -> str:
    return key.replace(".", "\\.")


def workloads_command(scope: Sequence[str], gpu: str) -> Shell:
    """Kueue's Workloads with the pod they gate, whether admitted, and the GPU flavor."""
    flavor = ".status.admission.podSetAssignments[0].flavors." + escape_key(gpu)
    columns = (f'POD:.metadata.ownerReferences[0].name,ADMITTED:.status.conditions[?(@.type=="Admitted")].status,'
               f"FLAVOR:{flavor}")
    return sh("oc", "get", "workloads", *scope, "-o", f"custom-columns={columns}")


def services_command(scope: Sequence[str]) -> Shell:
    """Each InferenceService with its Ready condition and its stop annotation."""
    columns = (f'NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,'
               f"STOP:.metadata.annotations.{escape_key(STOP_ANNOTATION)}")
    return sh("oc", "get", "inferenceservice", *scope, "-o", f"custom-columns={columns}")


def table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def admission_lines(snapshot: Snapshot, names: list[str]) -> str:
    """The simulated answer of `workloads_command`: one row per model pod, then why the others wait."""
    rows = [("POD", "ADMITTED", "FLAVOR")]
    why = []
    for model in snapshot.models:
        if model.state == "off":
            if model.name in names:
                why.append(f"{model.name}: stopped, no pod")
            continue
        admitted = model.state in ("admitted", "unschedulable")
        rows.append((f"{predictor(model.name)}-<hash>", "True" if admitted else "False", model.flavor or "<none>"))
        if model.state != "admitted":
            why.append(f"{model.name}: {model.state}" + (f" ({model.reason})" if model.reason else ""))
    return "\n".join(table(rows) + why)


def service_lines(snapshot: Snapshot) -> str:
    """The simulated answer of `services_command`."""
    rows = [("NAME", "READY", "STOP")]
    for model in snapshot.models:
        rows.append((model.name, "True" if model.state == "admitted" else "False", "true" if model.state == "off" else "false"))
    return "\n".join(table(rows))

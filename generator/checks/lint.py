"""Lint: the vLLM, Kueue and OpenShift AI pitfalls this domain keeps hitting.

Portfolio lints report at the portfolio position of the offending value; tree lints check the
rendered documents (and so also catch a renderer regression) and report in the emitted file.
Each rule has an id, a message that says how to fix it, and a failing fixture in the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.checks.annotations import annotation_keys_stay_strings, annotations_the_generator_owns
from generator.checks.limits import names_and_labels, object_sizes
from generator.checks.treelint import TreeFacts, TreeLint, TreeProblem
from generator.diagnostics import Problem
from generator.model.derive import tensor_parallel_size
from generator.model.portfolio import Model, Portfolio
from generator.render.common import Tree

INJECT_OAUTH = "notebooks.opendatahub.io/inject-oauth"
INJECT_AUTH = "notebooks.opendatahub.io/inject-auth"
_SECRETISH = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")

# Flags the generator writes itself, and the portfolio field that sets each.
MANAGED_FLAGS = {
    "--served-model-name": "the model name",
    "--port": "the ServingRuntime",
    "--model": "the ServingRuntime (/mnt/models)",
    "--dtype": "vllm.dtype",
    "--max-model-len": "vllm.maxModelLen",
    "--gpu-memory-utilization": "modelDefaults.gpuMemoryUtilization",
    "--trust-remote-code": "modelDefaults.trustRemoteCode",
}


@dataclass(frozen=True)
class Flag:
    index: int
    name: str
    value: str | None


def _flags(model: Model) -> list[Flag]:
    out = []
    for index, arg in enumerate(model.vllm.extra_args):
        name, _, value = arg.partition("=")
        out.append(Flag(index, name, value if "=" in arg else None))
    return out


def _arg_path(model_index: int, flag: Flag) -> tuple[str | int, ...]:
    return ("models", model_index, "vllm", "extraArgs", flag.index)


PortfolioLint = Callable[[Portfolio], Iterator[Problem]]


def _loadable_template(value: str) -> bool:
    return value.startswith(("/", "http://", "https://")) or "{{" in value or "{%" in value


def _template_problem(path: tuple[str | int, ...], value: str) -> Problem:
    return Problem(path, "VLLM001",
                   f"--chat-template={value} is neither an absolute path (in the vLLM image, e.g. /opt/app-root/template/"
                   "..., or in the model, /mnt/models/...) nor a URL; vLLM has no built-in template of that name and "
                   "reads it as a relative path. Give the absolute path, or remove it to use the model's own template")


def chat_template_is_loadable(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM001: vLLM reads --chat-template as a file path, a URL or inline Jinja; a bare name fails."""
    for index, model in enumerate(portfolio.models):
        if model.vllm.chat_template is not None and not _loadable_template(model.vllm.chat_template):
            yield _template_problem(("models", index, "vllm", "chatTemplate"), model.vllm.chat_template)
        for flag in _flags(model):
            if flag.name == "--chat-template" and flag.value is not None and not _loadable_template(flag.value):
                yield _template_problem(_arg_path(index, flag), flag.value)


def granite_tools_have_their_template(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM006: Granite 3.x tool calling needs the tool chat template the vLLM image ships, or tool calls fail."""
    for index, model in enumerate(portfolio.models):
        has_template = model.vllm.chat_template is not None or any(f.name == "--chat-template" for f in _flags(model))
        if model.vllm.tool_call_parser == "granite" and not has_template:
            yield Problem(("models", index, "vllm", "toolCallParser"), "VLLM006",
                          "Granite tool calling needs the tool chat template shipped in the vLLM image: set vllm.chatTemplate: "
                          "/opt/app-root/template/tool_chat_template_granite.jinja")


def flavor_labels_reach_the_nodes(portfolio: Portfolio) -> Iterator[Problem]:
    """KUEUE003: labels set in a MachineSet's template metadata (node-role.kubernetes.io/...) never reach the node."""
    for index, flavor in enumerate(portfolio.flavors):
        for key in flavor.node_labels or {}:
            if key.startswith("node-role.kubernetes.io/"):
                yield Problem(("flavors", index, "nodeLabels", key), "KUEUE003",
                              f"{key} is a label a MachineSet template sets on the Machine, not on the node: a ResourceFlavor "
                              "that selects it makes every admitted pod unschedulable. Use node.kubernetes.io/instance-type "
                              "or nvidia.com/gpu.present (the runbook's prerequisites check the nodes carry them)", at_key=True)


def no_default_queue(portfolio: Portfolio) -> Iterator[Problem]:
    """KUEUE004: a default LocalQueue queues every pod of the namespace, CPU-only pods too."""
    if portfolio.kueue.default_queue:
        yield Problem(("kueue", "defaultQueue"), "KUEUE004",
                      "with kueue.x-k8s.io/default-queue every pod of the namespace without a queue label joins the queue "
                      "and stays gated until admitted (builds and workbenches too); removing it later does not release pods "
                      "already gated")


def no_quantization_on_quantized_weights(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM002: weights that declare their quantization must not get --quantization."""
    for index, model in enumerate(portfolio.models):
        declared = model.weights.quantization_format
        for flag in _flags(model):
            if flag.name == "--quantization" and declared != "none":
                yield Problem(_arg_path(index, flag), "VLLM002",
                              f"the weights are stored as {declared} and vLLM detects that from config.json; "
                              f"--quantization={flag.value} conflicts with it: remove the flag")


def tool_calling_is_complete(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM003: tool calling needs --enable-auto-tool-choice and --tool-call-parser together."""
    for index, model in enumerate(portfolio.models):
        flags = {f.name: f for f in _flags(model)}
        has_parser = model.vllm.tool_call_parser is not None or "--tool-call-parser" in flags
        has_choice = model.vllm.tool_call_parser is not None or "--enable-auto-tool-choice" in flags
        if has_parser == has_choice:
            continue
        present = flags.get("--tool-call-parser") or flags.get("--enable-auto-tool-choice")
        assert present is not None
        yield Problem(_arg_path(index, present), "VLLM003",
                      "tool calling needs both --enable-auto-tool-choice and --tool-call-parser; set "
                      "vllm.toolCallParser instead, which adds both")


def tensor_parallel_matches_gpus(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM004: --tensor-parallel-size must equal the GPUs the pod gets."""
    for index, model in enumerate(portfolio.models):
        if tensor_parallel_size(model) != model.gpus:
            yield Problem(("models", index, "vllm", "tensorParallelSize"), "VLLM004",
                          f"--tensor-parallel-size={tensor_parallel_size(model)} but the pod gets {model.gpus} GPUs; "
                          "remove vllm.tensorParallelSize (it defaults to the GPU count)")
        for flag in _flags(model):
            if flag.name == "--tensor-parallel-size" and flag.value != str(model.gpus):
                yield Problem(_arg_path(index, flag), "VLLM004",
                              f"--tensor-parallel-size={flag.value} but the pod gets {model.gpus} GPUs; remove "
                              "the flag (the generator sets it from gpus)")


def extra_args_do_not_override(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM005: a flag the generator already writes would appear twice, and the last one wins."""
    for index, model in enumerate(portfolio.models):
        seen: set[str] = set()
        for flag in _flags(model):
            if flag.name in MANAGED_FLAGS:
                yield Problem(_arg_path(index, flag), "VLLM005",
                              f"{flag.name} is set by the generator from {MANAGED_FLAGS[flag.name]}; remove it from extraArgs")
            elif flag.name in seen:
                yield Problem(_arg_path(index, flag), "VLLM005", f"{flag.name} is given twice; keep one")
            elif model.vllm.chat_template is not None and flag.name == "--chat-template":
                yield Problem(_arg_path(index, flag), "VLLM005",
                              "--chat-template is set by the generator from vllm.chatTemplate; remove it from extraArgs")
            elif model.vllm.tool_call_parser and flag.name in ("--tool-call-parser", "--enable-auto-tool-choice"):
                yield Problem(_arg_path(index, flag), "VLLM005",
                              f"{flag.name} is set by the generator from vllm.toolCallParser; remove it from extraArgs")
            seen.add(flag.name)


_ENV_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def references_name_the_env(portfolio: Portfolio) -> Iterator[Problem]:
    """VLLM007: $(VAR) in a vLLM argument is expanded by the kubelet only when the container's env defines VAR; any
    other is passed to vLLM as it is written (an API key of "$(VLLM_API_KEY)")."""
    for index, model in enumerate(portfolio.models):
        defined = set(portfolio.model_defaults.env) | set(model.secret_env)
        for flag in _flags(model):
            for name in _ENV_REFERENCE.findall(flag.value or ""):
                if name not in defined:
                    yield Problem(_arg_path(index, flag), "VLLM007",
                                  f"$({name}) names no variable of the container's env, so vLLM gets the text itself; "
                                  f"define it in models[].secretEnv (from a Secret) or modelDefaults.env")


def no_deprecated_oauth_annotation(portfolio: Portfolio) -> Iterator[Problem]:
    """ODH001: OpenShift AI 3.0 uses inject-auth; inject-oauth is the deprecated 2.x annotation."""
    for index, model in enumerate(portfolio.models):
        if INJECT_OAUTH in model.annotations:
            yield Problem(("models", index, "annotations", INJECT_OAUTH), "ODH001",
                          f"{INJECT_OAUTH} is the OpenShift AI 2.x annotation; use {INJECT_AUTH}", at_key=True)


def models_require_authentication(portfolio: Portfolio) -> Iterator[Problem]:
    """SEC005: a model opened on purpose (auth: false) serves anyone who reaches it."""
    for index, model in enumerate(portfolio.models):
        if not model.auth:
            reach = "from outside the cluster (exposed)" if model.exposure == "exposed" else "inside the cluster"
            yield Problem(("models", index, "auth"), "SEC005",
                          f"auth: false lets anyone {reach} call {model.name} and spend its GPUs; keep auth on and name "
                          "the callers")


PORTFOLIO_LINTS: tuple[PortfolioLint, ...] = (
    chat_template_is_loadable,
    no_quantization_on_quantized_weights,
    tool_calling_is_complete,
    tensor_parallel_matches_gpus,
    extra_args_do_not_override,
    references_name_the_env,
    no_deprecated_oauth_annotation,
    granite_tools_have_their_template,
    flavor_labels_reach_the_nodes,
    no_default_queue,
    models_require_authentication,
    annotations_the_generator_owns,
    annotation_keys_stay_strings,
)


def lint_portfolio(portfolio: Portfolio) -> list[Problem]:
    return [p for lint in PORTFOLIO_LINTS for p in lint(portfolio)]


def _pod_specs(doc: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        yield ("spec", "template", "spec"), (spec.get("template") or {}).get("spec") or {}
    elif doc.get("kind") == "Pod":
        yield ("spec",), spec
    elif doc.get("kind") == "ServingRuntime":
        yield ("spec",), spec
    elif doc.get("kind") == "InferenceService":
        predictor = spec.get("predictor") or {}
        if predictor.get("model"):
            yield ("spec", "predictor", "model"), {"containers": [predictor["model"]]}


def _containers(doc: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for base, pod in _pod_specs(doc):
        if base[-1] == "model":
            yield base, pod["containers"][0]
            continue
        for key in ("initContainers", "containers"):
            for index, container in enumerate(pod.get(key) or []):
                yield (*base, key, index), container


def recreate_under_kueue(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """KUEUE001: a queued GPU model with RollingUpdate deadlocks on update under a full quota."""
    if doc.get("kind") != "InferenceService":
        return
    labels = (doc.get("metadata") or {}).get("labels") or {}
    predictor = (doc.get("spec") or {}).get("predictor") or {}
    limits = ((predictor.get("model") or {}).get("resources") or {}).get("limits") or {}
    uses_gpu = any(key.endswith("/gpu") for key in limits)
    strategy = (predictor.get("deploymentStrategy") or {}).get("type")
    if "kueue.x-k8s.io/queue-name" in labels and uses_gpu and strategy != "Recreate":
        yield TreeProblem(file, index, ("spec", "predictor"), "KUEUE001",
                          "a Kueue-managed GPU model needs spec.predictor.deploymentStrategy.type: Recreate; "
                          "with RollingUpdate the new pod waits for the old pod's quota forever")


def queue_exists(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """KUEUE002: the queue-name label must name a LocalQueue of the same namespace."""
    meta = doc.get("metadata") or {}
    queue = (meta.get("labels") or {}).get("kueue.x-k8s.io/queue-name")
    if not queue:
        return
    if (meta.get("namespace"), queue) not in facts.local_queues:
        yield TreeProblem(file, index, ("metadata", "labels", "kueue.x-k8s.io/queue-name"), "KUEUE002",
                          f"no LocalQueue {queue!r} in namespace {meta.get('namespace')!r}; the pods would never be admitted")


def no_literal_secrets(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """SEC001: credentials are referenced through Secrets, never written as values."""
    for base, container in _containers(doc):
        for position, env in enumerate(container.get("env") or []):
            if _SECRETISH.search(str(env.get("name", ""))) and "value" in env:
                yield TreeProblem(file, index, (*base, "env", position, "value"), "SEC001",
                                  f"{env['name']} has a literal value; use valueFrom.secretKeyRef")
    if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
        yield TreeProblem(file, index, ("kind",), "SEC001", "a Secret with values must not be committed; reference an existing one")


def images_pinned(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """IMG001: a floating tag runs different code on every pull."""
    for base, container in _containers(doc):
        image = container.get("image")
        if image is not None and not _PINNED.search(str(image)):
            yield TreeProblem(file, index, (*base, "image"), "IMG001",
                              f"image {image} is not pinned by digest (@sha256:...)")


def _pod_security(doc: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(path, pod-level securityContext) of each pod the document makes; the ServingRuntime has none of its own."""
    spec = doc.get("spec") or {}
    if doc.get("kind") in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        pod = (spec.get("template") or {}).get("spec") or {}
        yield ("spec", "template", "spec", "securityContext"), pod.get("securityContext") or {}
    elif doc.get("kind") == "Pod":
        yield ("spec", "securityContext"), spec.get("securityContext") or {}
    elif doc.get("kind") == "InferenceService":
        yield ("spec", "predictor", "securityContext"), (spec.get("predictor") or {}).get("securityContext") or {}


def restricted_pods(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """SEC002: every pod meets the restricted Pod Security Standard (non-root, RuntimeDefault seccomp, no privilege
    escalation, every capability dropped), the model servers too."""
    pods = list(_pod_security(doc))
    for path, context in pods:
        if context.get("runAsNonRoot") is not True or (context.get("seccompProfile") or {}).get("type") not in (
                "RuntimeDefault", "Localhost"):
            yield TreeProblem(file, index, path, "SEC002",
                              "the pod must set runAsNonRoot: true and seccompProfile RuntimeDefault (restricted Pod Security)")
    for base, container in _containers(doc):
        context = container.get("securityContext") or {}
        drops = (context.get("capabilities") or {}).get("drop") or []
        if context.get("allowPrivilegeEscalation") is not False or "ALL" not in drops or context.get("privileged"):
            yield TreeProblem(file, index, (*base, "securityContext"), "SEC002",
                              "the container must set allowPrivilegeEscalation: false and drop ALL capabilities "
                              "(restricted Pod Security)")


def jobs_mount_no_token(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """SEC003: a Job that calls no Kubernetes API runs under its own ServiceAccount and mounts no token; a predictor
    runs under a ServiceAccount of its own and says whether it mounts the token."""
    if doc.get("kind") == "InferenceService":
        predictor = (doc.get("spec") or {}).get("predictor") or {}
        if predictor.get("serviceAccountName") in (None, "", "default") or not isinstance(
                predictor.get("automountServiceAccountToken"), bool):
            yield TreeProblem(file, index, ("spec", "predictor"), "SEC003",
                              "a predictor runs under a ServiceAccount of its own (with auth, odh-model-controller binds "
                              "it to system:auth-delegator: on `default`, every pod of the namespace would get that) and "
                              "sets automountServiceAccountToken")
        return
    if doc.get("kind") != "Job":
        return
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    if pod.get("serviceAccountName") in (None, "", "default") or pod.get("automountServiceAccountToken") is not False:
        yield TreeProblem(file, index, ("spec", "template", "spec"), "SEC003",
                          "a Job runs under a ServiceAccount of its own with automountServiceAccountToken: false")


def models_have_limits(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """SEC007: a model container states its cpu and memory requests and limits. KServe merges the predictor's model
    container into the ServingRuntime's (a strategic merge: each key the InferenceService sets wins), and the runtime,
    shared by models of every size, sets none of its own: a model without them would run unbounded."""
    if doc.get("kind") != "InferenceService":
        return
    model = ((doc.get("spec") or {}).get("predictor") or {}).get("model") or {}
    resources = model.get("resources") or {}
    missing = [f"{kind}.{name}" for kind in ("requests", "limits") for name in ("cpu", "memory")
               if name not in (resources.get(kind) or {})]
    if missing:
        yield TreeProblem(file, index, ("spec", "predictor", "model", "resources"), "SEC007",
                          f"the model container sets no {', '.join(missing)}; the ServingRuntime has none to merge in "
                          "(it serves models of every size), so the pod would run unbounded")


def argo_cd_projects_are_narrow(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """SEC004: Applications use a project of their own; an AppProject allows no wildcard repository, place or kind."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Application" and spec.get("project") in (None, "default"):
        yield TreeProblem(file, index, ("spec", "project"), "SEC004",
                          "the default AppProject allows every repository, namespace and kind; use the tree's own project")
    if doc.get("kind") == "AppProject":
        for key in ("sourceRepos", "destinations", "clusterResourceWhitelist", "namespaceResourceWhitelist"):
            for position, item in enumerate(spec.get(key) or []):
                if "*" in json.dumps(item):
                    yield TreeProblem(file, index, ("spec", key, position), "SEC004",
                                      "an AppProject of this tree names exactly what it allows, never '*'")


# Measured with tests/benchmarks/bench_argocd.py (README "Performance"): `kubectl kustomize` of a team's models path
# takes about 6 s of CPU at this many resources (806: 5.9 s) on a shared 2-CPU machine, and its time grows with the
# square of them: a fifteenth of the repo-server's 90 s exec timeout.
COMFORTABLE_RESOURCES = 800


def applications_render_in_seconds(file: str, index: int, doc: dict[str, Any], facts: TreeFacts) -> Iterator[TreeProblem]:
    """ARGO001: an Application's path small enough for Argo CD's repo-server to render on every refresh."""
    if doc.get("kind") != "Application":
        return
    path = str(((doc.get("spec") or {}).get("source") or {}).get("path"))
    count = facts.path_resources.get(path, 0)
    if count > COMFORTABLE_RESOURCES:
        yield TreeProblem(file, index, ("spec", "source", "path"), "ARGO001",
                          f"its path renders {count:,} resources, more than the {COMFORTABLE_RESOURCES:,} Argo CD's repo-server "
                          "renders in about 6 s: kustomize's time grows with the square of a path's resources, and the "
                          "repo-server gives up after 90 s (ARGOCD_EXEC_TIMEOUT) on every refresh. Split what it holds: give "
                          "some of the team's models to another team, or declare teams (each gets Applications of its own)")


TREE_LINTS: tuple[TreeLint, ...] = (
    recreate_under_kueue, queue_exists, no_literal_secrets, images_pinned, restricted_pods, jobs_mount_no_token,
    argo_cd_projects_are_narrow, models_have_limits, object_sizes, names_and_labels, applications_render_in_seconds,
)


def lint_tree(tree: Tree) -> list[TreeProblem]:
    facts = TreeFacts.of(tree)
    return [
        problem
        for file, docs in tree.items()
        for index, doc in enumerate(docs)
        for lint in TREE_LINTS
        for problem in lint(file, index, doc, facts)
    ]

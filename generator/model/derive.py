"""Facts derived from the portfolio, each by exactly one function.

The InferenceService, the upload and registration Jobs, the quota check and the simulator all
read these, so a value that is derived here can never disagree between two emitted files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from generator.model.portfolio import Cohort, Flavor, Model, Portfolio, Resources, Team
from generator.model.quantity import format_quantity, parse_quantity

Tier = Literal["oci", "s3"]
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"  # set on the node by the cloud provider
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"  # set on the node by NVIDIA GPU feature discovery


def storage_tier(model: Model, portfolio: Portfolio) -> Tier | None:
    """oci below the size limit when an image exists, else s3; None when no tier can serve the model."""
    weights = model.weights
    has_s3 = bool(weights.hugging_face or weights.s3_prefix)
    if model.storage == "oci":
        return "oci" if weights.oci else None
    if model.storage == "s3":
        return "s3" if has_s3 else None
    if weights.oci and model.size_gb < portfolio.storage.oci_size_limit_gb:
        return "oci"
    if has_s3:
        return "s3"
    return None


def s3_prefix(model: Model) -> str | None:
    """The bucket prefix: explicit, or the Hugging Face repository name in lower case."""
    if model.weights.s3_prefix:
        return model.weights.s3_prefix
    if model.weights.hugging_face:
        return model.weights.hugging_face.split("/", 1)[1].lower()
    return None


def storage_uri(model: Model, portfolio: Portfolio) -> str:
    tier = storage_tier(model, portfolio)
    if tier == "oci":
        return f"oci://{model.weights.oci}"
    if tier == "s3":
        return f"s3://{portfolio.storage.s3.bucket}/{s3_prefix(model)}/"
    raise ValueError(f"model {model.name} has no storage tier")  # rules.py reports this first


def tensor_parallel_size(model: Model) -> int:
    return model.vllm.tensor_parallel_size or model.gpus


def flavor_named(portfolio: Portfolio, name: str) -> Flavor | None:
    return next((f for f in portfolio.flavors if f.name == name), None)


def eligible_flavors(model: Model, portfolio: Portfolio) -> list[Flavor]:
    """Flavors whose nodes can hold the model's pod, in the order Kueue tries them."""
    if model.flavor:
        pinned = flavor_named(portfolio, model.flavor)
        return [pinned] if pinned and pinned.gpus_per_node >= model.gpus else []
    return [f for f in portfolio.flavors if f.gpus_per_node >= model.gpus]


def pinned_flavor(model: Model, portfolio: Portfolio) -> Flavor | None:
    """The flavor a model is pinned to by nodeSelector.

    An explicit pin wins. A model that only one flavor's nodes can hold is pinned to it, because
    Kueue counts quota, not nodes. A model that fits several flavors is left to Kueue's flavor
    assignment, so a 1-GPU model can use the 4-GPU node when the 1-GPU node is full.
    """
    eligible = eligible_flavors(model, portfolio)
    if model.flavor or len(eligible) == 1:
        return eligible[0] if eligible else None
    return None


def hardware_profile(model: Model, portfolio: Portfolio) -> Flavor | None:
    """The dashboard hardware profile: the first flavor Kueue would try for the model."""
    eligible = eligible_flavors(model, portfolio)
    return eligible[0] if eligible else None


def node_selector(model: Model, portfolio: Portfolio) -> dict[str, str]:
    flavor = pinned_flavor(model, portfolio)
    return flavor_node_labels(flavor) if flavor else {}


def flavor_node_labels(flavor: Flavor) -> dict[str, str]:
    """The labels that select the flavor's nodes: the portfolio's, or the instance type the cloud provider sets."""
    if flavor.node_labels is not None:
        return dict(flavor.node_labels)
    return {INSTANCE_TYPE_LABEL: flavor.instance_type}


def cpu_quota(portfolio: Portfolio) -> tuple[str, str]:
    """(cpu, memory) nominal quota of the CPU flavor: the portfolio's, or what the GPU flavors' nodes hold."""
    explicit = portfolio.kueue.cpu_flavor.quota
    if explicit is not None:
        return explicit.cpu, explicit.memory
    cpu = sum((parse_quantity(f.cpu_per_node) * f.nodes for f in portfolio.flavors), Decimal(0))
    memory = sum((parse_quantity(f.memory_per_node) * f.nodes for f in portfolio.flavors), Decimal(0))
    return format_quantity(cpu, like="1"), format_quantity(memory, like="1Gi")


def team_cpu_quota(team: Team | Cohort, portfolio: Portfolio) -> tuple[str, str]:
    """(cpu, memory) nominal quota of a team (or a cohort's own pool) on the CPU flavor: what its GPUs' share of their
    nodes holds, so the teams' and cohorts' CPU quotas add up to the nodes' as their GPU quotas add up to the
    flavors'."""
    flavors = {f.name: f for f in portfolio.flavors}
    cpu, memory = Decimal(0), Decimal(0)
    for quota in team.quota:
        flavor = flavors.get(quota.flavor)
        if flavor is not None:
            cpu += parse_quantity(flavor.cpu_per_node) * quota.gpus / flavor.gpus_per_node
            memory += parse_quantity(flavor.memory_per_node) * quota.gpus / flavor.gpus_per_node
    return format_quantity(cpu, like="1"), format_quantity(memory.to_integral_value(), like="1Gi")


def team_cohort(team: Team, portfolio: Portfolio) -> str:
    """The cohort a team's ClusterQueue belongs to."""
    return team.cohort or portfolio.kueue.cohort


def cohort_parent(cohort: Cohort, portfolio: Portfolio) -> str | None:
    """The cohort above; the root (named like kueue.cohort) has none."""
    if cohort.name == portfolio.kueue.cohort:
        return None
    return cohort.parent or portfolio.kueue.cohort


def fair_weight(weight: float) -> str:
    """A fair-sharing weight as the quantity Kueue reads: 2 -> "2", 0.5 -> "0.5"."""
    return format(Decimal(repr(weight)).normalize(), "f")


def team_namespace(team: Team) -> str:
    return team.namespace or team.name


def team_of(model: Model, portfolio: Portfolio) -> Team | None:
    return next((t for t in portfolio.teams if t.name == model.team), None) if model.team else None


def model_namespace(model: Model, portfolio: Portfolio) -> str:
    """Where the model is served: its team's namespace, or the portfolio's one namespace without teams."""
    team = team_of(model, portfolio)
    return team_namespace(team) if team else portfolio.namespace


def serving_namespaces(portfolio: Portfolio) -> list[str]:
    if portfolio.teams:
        return list(dict.fromkeys(team_namespace(t) for t in portfolio.teams))
    return [portfolio.namespace]


def is_stopped(model: Model) -> bool:
    """A queued model is declared off through its InferenceService: no Deployment, no pod, no GPU."""
    return model.state != "active"


def model_resources(model: Model, portfolio: Portfolio) -> Resources | None:
    if model.resources:
        return model.resources
    for profile in portfolio.model_defaults.resources:
        if profile.gpus == model.gpus:
            return Resources(requests=profile.requests, limits=profile.limits)
    return None


def vllm_args(model: Model, portfolio: Portfolio) -> list[str]:
    """The InferenceService args; the runtime adds --port and --model."""
    vllm = model.vllm
    args = [f"--served-model-name={model.name}"]
    if model.gpus > 1 or vllm.tensor_parallel_size:
        args.append(f"--tensor-parallel-size={tensor_parallel_size(model)}")
    if vllm.dtype:
        args.append(f"--dtype={vllm.dtype}")
    if vllm.max_model_len:
        args.append(f"--max-model-len={vllm.max_model_len}")
    args.append(f"--gpu-memory-utilization={portfolio.model_defaults.gpu_memory_utilization}")
    if portfolio.model_defaults.trust_remote_code:
        args.append("--trust-remote-code")
    if vllm.tool_call_parser:
        args += [f"--tool-call-parser={vllm.tool_call_parser}", "--enable-auto-tool-choice"]
    if vllm.chat_template:
        args.append(f"--chat-template={vllm.chat_template}")
    return args + list(vllm.extra_args)


@dataclass(frozen=True)
class Upload:
    """One distinct set of S3 weights: one PVC and one Job, whichever models share it."""

    prefix: str
    hugging_face: str
    size_gb: float
    volume_size: str
    models: tuple[str, ...]
    namespace: str
    allow_patterns: tuple[str, ...] | None = None
    ignore_patterns: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """The PVC's name, and the base of the Job's (which adds a hash of the Job's input)."""
        return f"upload-{self.prefix.replace('/', '-').replace('.', '-').replace('_', '-')}"[:63].rstrip("-")


GIB_PER_GB = 10**9 / 2**30
VOLUME_HEADROOM = 1.2


def default_volume_size(size_gb: float) -> str:
    """The weights vLLM loads (only they are downloaded) plus a fifth for headroom, in GiB, rounded up to 10Gi."""
    return f"{max(10, math.ceil(size_gb * GIB_PER_GB * VOLUME_HEADROOM / 10) * 10)}Gi"


def job_namespace(model: Model, portfolio: Portfolio, shared: str) -> str:
    """Where a Job for the model runs: its team's namespace (a team's Application deploys only there), or the
    portfolio's `shared` namespace without teams (the upload or the registry namespace)."""
    team = team_of(model, portfolio)
    return team_namespace(team) if team else shared


def uploads(portfolio: Portfolio) -> list[Upload]:
    """Distinct S3 weights with a Hugging Face source, in portfolio order of first use; with teams, per team (each
    team's Application uploads what its models need, into its own namespace)."""
    groups: dict[tuple[str, str], list[Model]] = {}
    for model in portfolio.models:
        prefix = s3_prefix(model)
        if storage_tier(model, portfolio) == "s3" and model.weights.hugging_face and prefix:
            namespace = job_namespace(model, portfolio, portfolio.storage.s3.upload_namespace)
            groups.setdefault((namespace, prefix), []).append(model)
    result = []
    for (namespace, prefix), models in groups.items():
        size = max(m.size_gb for m in models)
        explicit = [m.upload_volume_size for m in models if m.upload_volume_size]
        weights = models[0].weights
        result.append(Upload(
            prefix=prefix,
            hugging_face=str(weights.hugging_face),
            size_gb=size,
            volume_size=explicit[0] if explicit else default_volume_size(size),
            models=tuple(m.name for m in models),
            namespace=namespace,
            allow_patterns=None if weights.allow_patterns is None else tuple(weights.allow_patterns),
            ignore_patterns=None if weights.ignore_patterns is None else tuple(weights.ignore_patterns),
        ))
    return result


def registrations(portfolio: Portfolio) -> list[tuple[str, list[Model]]]:
    """(namespace, models) of each registration Job: one for the portfolio, or one per team that has models."""
    groups: dict[str, list[Model]] = {}
    for model in portfolio.models:
        groups.setdefault(job_namespace(model, portfolio, portfolio.model_registry.namespace), []).append(model)
    return list(groups.items())


# The predictors' ServiceAccount, one per serving namespace (see render/access.py for why).
MODEL_SERVER = "model-server"


def mounts_api_token(model: Model) -> bool:
    """Whether the model's pod carries its ServiceAccount's API token: when the model asks for it, and always with auth,
    because OpenShift AI's KServe sets automountServiceAccountToken for the kube-rbac-proxy it puts beside vLLM (which
    reviews each caller's token and access with it), whatever the InferenceService says."""
    return model.auth or model.service_account_token


def model_callers(model: Model, portfolio: Portfolio) -> list[str]:
    """The ServiceAccounts allowed to call the model; none when it requires no authentication."""
    if not model.auth:
        return []
    return list(model.callers if model.callers is not None else portfolio.model_defaults.callers)

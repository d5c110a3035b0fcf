"""The typed portfolio: every fact about models, GPUs, storage and quota, written once.

Field-level rules (types, names, enums, quantities) live here; rules that span several fields
live in `generator.checks.rules` so that each can report its own position.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from generator.model.quantity import QUANTITY_PATTERN, canonical_quantity

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

LABEL_KEY = r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
HTTP_URL = r"^https?://[^\s/$.?#][^\s]*$"
GIT_URL = r"^(https?://|ssh://|git@)[^\s]+$"
# An image reference pinned by digest: a floating tag runs different code on every pull.
PINNED_IMAGE = r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$"
OCI_IMAGE = r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$"
HF_REPO = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
S3_PREFIX = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
VLLM_FLAG = r"^--[a-z0-9][a-z0-9-]*(=.*)?$"

# What each pattern allows, in words: the loader quotes it when a value does not match.
PATTERN_HELP = {
    DNS1123_LABEL: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
                   "or digit, at most 63 characters",
    DNS1123_SUBDOMAIN: "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'",
    LABEL_KEY: "must be a Kubernetes label or annotation key such as example.com/name",
    HTTP_URL: "must be an http:// or https:// URL",
    GIT_URL: "must be a Git URL (https://, ssh:// or git@)",
    PINNED_IMAGE: "must be an image pinned by digest (registry/repository@sha256:<64 hex>); floating tags are refused",
    OCI_IMAGE: "must be an image reference registry/repository[:tag][@sha256:digest], without oci://",
    HF_REPO: "must be a Hugging Face repository id owner/name",
    S3_PREFIX: "must be a bucket prefix of lower-case segments separated by '/', without s3:// or a trailing '/'",
    ENV_NAME: "must be an environment variable name (letters, digits, '_')",
    VLLM_FLAG: "must be one vLLM argument written --flag or --flag=value",
}

DnsLabel = Annotated[
    str,
    StringConstraints(pattern=DNS1123_LABEL, max_length=63),
    Field(description="A DNS-1123 label: lower-case letters, digits and '-', at most 63 characters."),
]
DnsSubdomain = Annotated[str, StringConstraints(pattern=DNS1123_SUBDOMAIN, max_length=253)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY)]
Quantity = Annotated[
    str,
    BeforeValidator(canonical_quantity),
    Field(json_schema_extra={"pattern": QUANTITY_PATTERN}),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
HttpUrl = Annotated[str, StringConstraints(pattern=HTTP_URL)]
GitRepoUrl = Annotated[str, StringConstraints(pattern=GIT_URL)]
PinnedImage = Annotated[str, StringConstraints(pattern=PINNED_IMAGE)]
OciImage = Annotated[str, StringConstraints(pattern=OCI_IMAGE)]
HuggingFaceRepo = Annotated[str, StringConstraints(pattern=HF_REPO)]
S3Prefix = Annotated[str, StringConstraints(pattern=S3_PREFIX)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME)]
VllmFlag = Annotated[str, StringConstraints(pattern=VLLM_FLAG)]

# vLLM's registered tool parsers (vllm/entrypoints/openai/tool_parsers, v0.10-v0.11).
ToolCallParser = Literal[
    "deepseek_v3", "deepseek_v31", "glm45", "granite", "granite-20b-fc", "hermes", "hunyuan_a13b",
    "internlm", "jamba", "kimi_k2", "llama3_json", "llama4_json", "llama4_pythonic", "longcat",
    "minimax", "mistral", "openai", "phi4_mini_json", "pythonic", "qwen3_coder", "qwen3_xml",
    "seed_oss", "step3", "xlam",
]
VllmDtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]
# Formats that carry their own quantization config; vLLM detects them from config.json.
QuantizationFormat = Literal["none", "compressed-tensors", "gptq", "awq", "fp8", "gguf", "bitsandbytes"]


class Spec(BaseModel):
    """Base for every portfolio section: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
    )


class GitOps(Spec):
    repo_url: GitRepoUrl = Field(
        alias="repoURL",
        description="Git repository Argo CD reads the generated tree from.",
        examples=["https://github.com/example/gpuaas-portfolio.git"],
    )
    target_revision: NonEmpty = Field(
        "main", description="Branch, tag or commit Argo CD syncs.", examples=["main"]
    )
    application: DnsLabel = Field(
        "step-05-llm-on-vllm",
        description="Name of the Argo CD Application and of the folder under gitops/ that holds the serving tree.",
        examples=["step-05-llm-on-vllm"],
    )
    app_of_apps: DnsLabel = Field(
        "app-of-apps",
        description="Name of the root Argo CD Application that syncs gitops/argocd/app-of-apps (applied once to bootstrap).",
        examples=["app-of-apps"],
    )
    argocd_namespace: DnsLabel = Field(
        "openshift-gitops", description="Namespace where Argo CD runs.", examples=["openshift-gitops"]
    )
    project: DnsLabel = Field("default", description="Argo CD project of the Applications.", examples=["default"])
    destination_server: HttpUrl = Field(
        "https://kubernetes.default.svc",
        description="API server Argo CD deploys to.",
        examples=["https://kubernetes.default.svc"],
    )


class S3Storage(Spec):
    endpoint: HttpUrl = Field(
        description="S3 endpoint reachable from the upload Jobs.",
        examples=["http://minio.minio-storage.svc:9000"],
    )
    bucket: DnsSubdomain = Field(description="Bucket that holds the model weights.", examples=["models"])
    connection_secret: DnsSubdomain = Field(
        description="OpenShift AI S3 data connection Secret in the serving namespace, used by KServe (storage.key).",
        examples=["minio-connection"],
    )
    upload_namespace: DnsLabel = Field(
        description="Namespace where the upload Jobs run.", examples=["minio-storage"]
    )
    credentials_secret: DnsSubdomain = Field(
        description="Existing Secret in the upload namespace with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
        examples=["minio-credentials"],
    )
    storage_class: DnsSubdomain = Field(
        description="StorageClass of the upload scratch volumes.", examples=["gp3-csi"]
    )


class Storage(Spec):
    s3: S3Storage = Field(description="The S3 store (MinIO) for weights too large for an OCI ModelCar.")
    oci_size_limit_gb: PositiveFloat = Field(
        20,
        alias="ociSizeLimitGB",
        description="Largest model, in GB, served from an OCI ModelCar; larger images fail to unpack "
        "in the CRI-O overlay ('no space left on device') and go to S3.",
        examples=[20],
    )


class HuggingFace(Spec):
    token_secret: DnsSubdomain = Field(
        "hf-token", description="Secret in the upload namespace holding a Hugging Face token (optional at run time).",
        examples=["hf-token"],
    )
    token_key: NonEmpty = Field("token", description="Key of the token in that Secret.", examples=["token"])


class ModelRegistry(Spec):
    url: HttpUrl = Field(
        description="REST base of the Model Registry API.",
        examples=["http://private-ai-registry-internal.rhoai-model-registries.svc:8080/api/model_registry/v1alpha3"],
    )
    namespace: DnsLabel = Field(description="Namespace where the registration Job runs.", examples=["rhoai-model-registries"])
    owner: NonEmpty = Field("platform-team", description="Owner and author recorded on every registration.", examples=["platform-team"])


class Jobs(Spec):
    image: PinnedImage = Field(
        description="Image of the upload and registration Jobs, pinned by digest; it must already contain "
        "Python with huggingface_hub and boto3 (nothing is installed at run time).",
        examples=[
            "registry.redhat.io/rhoai/odh-kserve-storage-initializer-rhel9@sha256:"
            "0e900505bb5033e6e9dbc9bb096ee97cdd5abe5bb2030c0d53334b66916476b5"
        ],
    )
    active_deadline_seconds: PositiveInt = Field(
        7200, description="Upper bound on one Job's run time, in seconds.", examples=[7200]
    )
    backoff_limit: Annotated[int, Field(ge=0)] = Field(3, description="Retries of a failed Job pod.", examples=[3])
    upload_resources: Resources = Field(
        default_factory=lambda: Resources(requests=ResourceAmounts(cpu="2", memory="4Gi"),
                                          limits=ResourceAmounts(cpu="4", memory="8Gi")),
        description="CPU and memory of each upload Job.",
        examples=[{"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}],
    )


class Runtime(Spec):
    name: DnsLabel = Field("vllm-runtime", description="Name of the vLLM ServingRuntime.", examples=["vllm-runtime"])
    display_name: NonEmpty = Field(
        "vLLM NVIDIA GPU ServingRuntime for KServe",
        description="Name the OpenShift AI dashboard shows for the runtime.",
        examples=["vLLM NVIDIA GPU ServingRuntime for KServe"],
    )
    image: PinnedImage = Field(
        description="vLLM image, pinned by digest.",
        examples=["registry.redhat.io/rhaiis/vllm-cuda-rhel9@sha256:" + "0" * 64],
    )
    shm_size: Quantity = Field("8Gi", description="Size of the in-memory /dev/shm volume.", examples=["8Gi"])


class ResourceAmounts(Spec):
    cpu: Quantity = Field(description="CPU cores.", examples=["8", "500m"])
    memory: Quantity = Field(description="Memory.", examples=["32Gi"])


class Resources(Spec):
    requests: ResourceAmounts = Field(description="Requested CPU and memory (Kueue counts these against quota).")
    limits: ResourceAmounts = Field(description="CPU and memory limits.")


class ResourceProfile(Resources):
    gpus: PositiveInt = Field(description="GPU count this profile applies to.", examples=[1, 4])


class ModelDefaults(Spec):
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Environment of every model's vLLM container.",
        examples=[{"VLLM_USE_V1": "1"}],
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9, description="vLLM --gpu-memory-utilization for every model.", examples=[0.9]
    )
    trust_remote_code: bool = Field(True, description="Pass --trust-remote-code to vLLM.", examples=[True])
    max_replicas: PositiveInt = Field(1, description="maxReplicas of every InferenceService.", examples=[1])
    resources: list[ResourceProfile] = Field(
        default_factory=list,
        description="CPU and memory of a model pod by its GPU count; a model may override them.",
        examples=[[{"gpus": 1, "requests": {"cpu": "8", "memory": "32Gi"}, "limits": {"cpu": "16", "memory": "60Gi"}}]],
    )


class Taint(Spec):
    key: LabelKey = Field(description="Taint key.", examples=["nvidia.com/gpu"])
    value: str = Field("", description="Taint value.", examples=["true"])
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        "NoSchedule", description="Taint effect.", examples=["NoSchedule"]
    )


class Cluster(Spec):
    gpu_resource: LabelKey = Field("nvidia.com/gpu", description="Extended resource name of a GPU.", examples=["nvidia.com/gpu"])
    gpu_taint: Taint = Field(
        default_factory=lambda: Taint(key="nvidia.com/gpu", value="true", effect="NoSchedule"),
        description="Taint carried by every GPU node; model pods tolerate it.",
    )
    gpu_node_role_label: LabelKey = Field(
        "node-role.kubernetes.io/gpu", description="Label (empty value) carried by every GPU node.",
        examples=["node-role.kubernetes.io/gpu"],
    )
    hardware_profile_namespace: DnsLabel = Field(
        "redhat-ods-applications",
        description="Namespace of the dashboard HardwareProfiles named like the flavors.",
        examples=["redhat-ods-applications"],
    )


class Preemption(Spec):
    within_cluster_queue: Literal["Never", "LowerPriority", "LowerOrNewerEqualPriority"] = Field(
        "LowerPriority", description="Kueue preemption inside the ClusterQueue.", examples=["LowerPriority"]
    )
    reclaim_within_cohort: Literal["Never", "LowerPriority", "Any"] = Field(
        "Any", description="Kueue reclaim of lent quota within the cohort.", examples=["Any"]
    )


class FlavorFungibility(Spec):
    when_can_borrow: Literal["Borrow", "TryNextFlavor"] = Field(
        "Borrow", description="v1beta1 flavorFungibility.whenCanBorrow.", examples=["Borrow"]
    )
    when_can_preempt: Literal["Preempt", "TryNextFlavor"] = Field(
        "TryNextFlavor", description="v1beta1 flavorFungibility.whenCanPreempt.", examples=["TryNextFlavor"]
    )


class PriorityClass(Spec):
    name: DnsSubdomain = Field(description="WorkloadPriorityClass name, named by models[].priority.", examples=["production"])
    value: int = Field(description="Priority: higher is admitted first and may preempt lower.", examples=[1000])
    description: str = Field("", description="What the class is for.", examples=["Customer-facing models"])


class Kueue(Spec):
    cluster_queue: DnsLabel = Field("rhoai-main-queue", description="The ClusterQueue name.", examples=["rhoai-main-queue"])
    local_queue: DnsLabel = Field(
        "default", description="LocalQueue in the serving namespace; model pods join it by label.", examples=["default"]
    )
    queueing_strategy: Literal["BestEffortFIFO", "StrictFIFO"] = Field(
        "BestEffortFIFO", description="Order in which pending workloads are tried.", examples=["BestEffortFIFO"]
    )
    preemption: Preemption = Field(default_factory=Preemption, description="Who may evict whom.")
    flavor_fungibility: FlavorFungibility = Field(
        default_factory=FlavorFungibility, description="When Kueue tries the next flavor."
    )
    priority_classes: list[PriorityClass] = Field(
        default_factory=list,
        description="WorkloadPriorityClasses; they order the queue and decide preemption (they do not affect pod scheduling).",
        examples=[[{"name": "production", "value": 1000}]],
    )


class Quota(Spec):
    gpus: Annotated[int, Field(ge=0)] = Field(description="Nominal GPU quota of the flavor.", examples=[4])
    cpu: Quantity = Field(description="Nominal CPU quota of the flavor.", examples=["48"])
    memory: Quantity = Field(description="Nominal memory quota of the flavor.", examples=["192Gi"])


class Flavor(Spec):
    name: DnsLabel = Field(
        description="ResourceFlavor name, also the dashboard HardwareProfile name.", examples=["nvidia-l4-4gpu"]
    )
    instance_type: NonEmpty = Field(
        description="Node instance type (label node.kubernetes.io/instance-type).", examples=["g6.12xlarge"]
    )
    gpus_per_node: PositiveInt = Field(description="GPUs on one node of this flavor.", examples=[4])
    nodes: PositiveInt = Field(1, description="Nodes of this flavor (MachineSet replicas).", examples=[1])
    quota: Quota = Field(description="Nominal quota of this flavor in the ClusterQueue.")


class Weights(Spec):
    hugging_face: HuggingFaceRepo | None = Field(
        None, description="Hugging Face repository the upload Job downloads.",
        examples=["mistralai/Mistral-Small-24B-Instruct-2501"],
    )
    s3_prefix: S3Prefix | None = Field(
        None,
        description="Prefix in the bucket; defaults to the Hugging Face repository name in lower case. "
        "Models with the same prefix share one upload.",
        examples=["mistral-small-24b"],
    )
    oci: OciImage | None = Field(
        None, description="OCI ModelCar image holding the weights.",
        examples=["registry.redhat.io/rhelai1/modelcar-granite-7b-starter:1.4"],
    )
    quantization_format: QuantizationFormat = Field(
        "none",
        description="Quantization the weights declare in their config (vLLM detects it; never pass --quantization for it).",
        examples=["compressed-tensors"],
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> Weights:
        if not (self.hugging_face or self.s3_prefix or self.oci):
            raise ValueError("give at least one of huggingFace, s3Prefix or oci")
        return self


class Vllm(Spec):
    dtype: VllmDtype | None = Field(None, description="vLLM --dtype.", examples=["bfloat16"])
    max_model_len: PositiveInt | None = Field(
        None, description="vLLM --max-model-len (context length).", examples=[32768]
    )
    tool_call_parser: ToolCallParser | None = Field(
        None,
        description="Enables tool calling: vLLM --enable-auto-tool-choice with --tool-call-parser.",
        examples=["mistral"],
    )
    tensor_parallel_size: PositiveInt | None = Field(
        None, description="Override of --tensor-parallel-size; by default it equals the model's GPUs.", examples=[4]
    )
    extra_args: list[VllmFlag] = Field(
        default_factory=list, description="More vLLM arguments, each as --flag or --flag=value.",
        examples=[["--enable-prefix-caching"]],
    )


class Model(Spec):
    name: DnsLabel = Field(
        description="InferenceService name and served model name.", examples=["mistral-3-bf16"]
    )
    display_name: NonEmpty = Field(description="Name the dashboard shows.", examples=["Mistral-3 BF16 (4-GPU)"])
    provider: NonEmpty = Field(description="Who publishes the model.", examples=["Mistral AI"])
    use_case: NonEmpty = Field(description="What the model is for.", examples=["enterprise chat assistant"])
    description: str | None = Field(
        None, description="Longer description for the Model Registry.",
        examples=["Mistral Small 24B Instruct, served in bf16 on four L4 GPUs."],
    )
    weights: Weights = Field(description="Where the weights come from.")
    size_gb: PositiveFloat = Field(alias="sizeGB", description="Size of the weights in GB.", examples=[48])
    precision: NonEmpty = Field(description="Precision or quantization of the weights.", examples=["bf16", "INT4 W4A16"])
    gpus: PositiveInt = Field(description="GPUs of one model pod.", examples=[4])
    state: Literal["active", "queued"] = Field(
        description="active: one replica at baseline (minReplicas 1); queued: scaled to zero (minReplicas 0).",
        examples=["active"],
    )
    storage: Literal["auto", "oci", "s3"] = Field(
        "auto",
        description="Storage tier; auto picks OCI below ociSizeLimitGB when an OCI image exists, else S3.",
        examples=["auto"],
    )
    flavor: DnsLabel | None = Field(
        None,
        description="Pin the model to one flavor; by default it is pinned only when a single flavor's nodes can hold it.",
        examples=["nvidia-l4-4gpu"],
    )
    priority: DnsSubdomain | None = Field(
        None, description="A kueue.priorityClasses name; the model's pods carry it as kueue.x-k8s.io/priority-class.",
        examples=["production"],
    )
    vllm: Vllm = Field(default_factory=Vllm, description="vLLM settings of this model.")
    resources: Resources | None = Field(
        None, description="CPU and memory of the model pod; defaults to modelDefaults.resources for its GPU count."
    )
    annotations: dict[LabelKey, str] = Field(
        default_factory=dict,
        description="More annotations on the InferenceService (the generator's own annotations win).",
        examples=[{"opendatahub.io/connections": "minio-connection"}],
    )
    upload_volume_size: Quantity | None = Field(
        None, description="Size of the upload scratch volume; defaults to twice the weights, rounded up to 10Gi.",
        examples=["100Gi"],
    )


AdmissionState = Literal["admitted", "pending", "preempted", "off"]


class Expectation(Spec):
    state: AdmissionState = Field(description="Expected state of the model's pod.", examples=["admitted"])
    flavor: DnsLabel | None = Field(None, description="Flavor it must be admitted on.", examples=["nvidia-l4-4gpu"])


class Step(Spec):
    title: NonEmpty = Field(description="What the presenter does and says in this step.",
                            examples=["Enable Devstral-2 while the 4-GPU node is busy"])
    enable: list[DnsLabel] = Field(default_factory=list, description="Models scaled to one replica.", examples=[["devstral-2"]])
    disable: list[DnsLabel] = Field(default_factory=list, description="Models scaled to zero.", examples=[["mistral-3-bf16"]])
    update: list[DnsLabel] = Field(
        default_factory=list, description="Running models whose pod template changes (a new pod replaces the old).",
        examples=[["mistral-3-bf16"]],
    )
    strategy: Literal["Recreate", "RollingUpdate"] | None = Field(
        None, description="Deployment strategy assumed for update; by default the one the tree renders (Recreate).",
        examples=["RollingUpdate"],
    )
    expect: dict[DnsLabel, AdmissionState | Expectation] = Field(
        default_factory=dict, description="Expected state per model after the step: a state, or {state, flavor}.",
        examples=[{"devstral-2": "pending", "mistral-3-int4": {"state": "admitted", "flavor": "nvidia-l4-1gpu"}}],
    )


class Scenario(Spec):
    name: DnsLabel = Field(description="Scenario name, used by `runbook NAME`.", examples=["resource-handover"])
    description: NonEmpty = Field(description="The story the scenario tells.", examples=["Quota moves from one model to another."])
    steps: Annotated[list[Step], Field(min_length=1)] = Field(description="Steps from the baseline, in order.")


class Portfolio(Spec):
    namespace: DnsLabel = Field(description="Namespace where the models are served (created elsewhere).", examples=["private-ai"])
    gitops: GitOps = Field(description="Where Argo CD finds this repository and how it deploys it.")
    storage: Storage = Field(description="Where weights live.")
    hugging_face: HuggingFace = Field(default_factory=HuggingFace, description="Hugging Face access of the upload Jobs.")
    model_registry: ModelRegistry = Field(description="The Model Registry the registration Job writes to.")
    jobs: Jobs = Field(description="Upload and registration Jobs.")
    runtime: Runtime = Field(description="The vLLM ServingRuntime.")
    model_defaults: ModelDefaults = Field(default_factory=ModelDefaults, description="Settings shared by every model.")
    cluster: Cluster = Field(default_factory=Cluster, description="Facts about the GPU nodes.")
    kueue: Kueue = Field(default_factory=Kueue, description="Kueue queues and policies.")
    flavors: Annotated[list[Flavor], Field(min_length=1)] = Field(
        description="GPU node flavors, in the order Kueue tries them."
    )
    models: Annotated[list[Model], Field(min_length=1)] = Field(description="The model portfolio.")
    scenarios: list[Scenario] = Field(
        default_factory=list, description="Demo scenarios: steps from the baseline and the admission they must produce."
    )


def _example(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """An example value for a schema node, composed from the examples of its fields."""
    if node.get("examples"):
        return node["examples"][0]
    if "$ref" in node:
        return _example(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    for choice in node.get("anyOf", []):
        if choice.get("type") != "null":
            return _example(choice, defs)
    if node.get("type") == "array" and "items" in node:
        return [_example(node["items"], defs)]
    if "properties" in node:
        return {key: _example(child, defs) for key, child in node["properties"].items()
                if key in node.get("required", []) or child.get("examples")}
    return node.get("default")


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use: every field carries a description and an example."""
    schema = Portfolio.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    for owner in [schema, *defs.values()]:
        for child in owner.get("properties", {}).values():
            if "examples" not in child:
                child["examples"] = [_example(child, defs)]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "GPU-as-a-Service model portfolio"
    return schema

"""The typed portfolio: every fact about models, GPUs, storage and quota, written once.

Field-level rules (types, names, enums, quantities) live here and in `generator.model.fields`;
rules that span several fields live in `generator.checks.rules` so that each reports its own position.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from generator.model.fields import (
    DnsLabel,
    DnsSubdomain,
    EnvName,
    FilePattern,
    Gigabytes,
    GitRepoUrl,
    HttpUrl,
    HuggingFaceRepo,
    Int32,
    LabelKey,
    LabelValue,
    NonEmpty,
    NonNegativeInt32,
    OciImage,
    PinnedImage,
    PositiveInt32,
    PositiveInt64,
    Quantity,
    QuantizationFormat,
    S3Prefix,
    SecretKey,
    ToolCallParser,
    VllmDtype,
    VllmFlag,
)


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
    project: DnsLabel = Field(
        "gpuaas-portfolio",
        description="The AppProject of the Applications, rendered in the bootstrap: it allows exactly this tree's "
        "repository, namespaces and kinds (never Argo CD's 'default' project, which allows everything).",
        examples=["gpuaas-portfolio"],
    )
    destination_server: HttpUrl = Field(
        "https://kubernetes.default.svc",
        description="API server Argo CD deploys to.",
        examples=["https://kubernetes.default.svc"],
    )
    argocd_instance: DnsLabel = Field(
        "openshift-gitops",
        description="Name of the ArgoCD resource (OpenShift GitOps instance) in argocdNamespace; the deploy step adds the "
        "InferenceService health check to its list (a JSON patch that keeps every other entry) and the bootstrap grants "
        "its application controller the cluster-scoped Kueue kinds.",
        examples=["openshift-gitops"],
    )
    live_toggle: bool = Field(
        False,
        description="Let operators stop and start models on the cluster (the dashboard's Stop and Start buttons, or "
        "`oc annotate inferenceservice NAME serving.kserve.io/stop=true|false`). Argo CD then ignores that one "
        "annotation, so a model's state in this file applies only when its InferenceService is created; off (the "
        "default), state changes go through Git.",
        examples=[False],
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
        description="Namespace where the upload Jobs run (with teams each team's run in the team's namespace).",
        examples=["minio-storage"]
    )
    credentials_secret: DnsSubdomain = Field(
        description="Existing Secret in the upload namespace (with teams, in each team's namespace) with keys "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
        examples=["minio-credentials"],
    )
    storage_class: DnsSubdomain = Field(
        description="StorageClass of the upload scratch volumes.", examples=["gp3-csi"]
    )


class Storage(Spec):
    s3: S3Storage = Field(description="The S3 store (MinIO) for weights too large for an OCI ModelCar.")
    oci_size_limit_gb: Gigabytes = Field(
        20,
        alias="ociSizeLimitGB",
        description="Largest model, in GB, served from an OCI ModelCar; larger images fail to unpack "
        "in the CRI-O overlay ('no space left on device') and go to S3.",
        examples=[20],
    )


class HuggingFace(Spec):
    token_secret: DnsSubdomain = Field(
        "hf-token", description="Secret in the upload namespace (with teams, in each team's namespace) holding a Hugging "
        "Face token (optional at run time).",
        examples=["hf-token"],
    )
    token_key: SecretKey = Field("token", description="Key of the token in that Secret.", examples=["token"])


class ModelRegistry(Spec):
    url: HttpUrl = Field(
        description="REST base of the Model Registry API.",
        examples=["http://private-ai-registry-internal.rhoai-model-registries.svc:8080/api/model_registry/v1alpha3"],
    )
    namespace: DnsLabel = Field(description="Namespace where the registration Job runs (with teams each team registers its "
                                "models from its own namespace).", examples=["rhoai-model-registries"])
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
    active_deadline_seconds: PositiveInt64 = Field(
        7200, description="Upper bound on one Job's run time, in seconds.", examples=[7200]
    )
    backoff_limit: NonNegativeInt32 = Field(3, description="Retries of a failed Job pod.", examples=[3])
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
    gpus: Annotated[int, Field(gt=0, le=1024)] = Field(description="GPU count this profile applies to.", examples=[1, 4])


class ModelDefaults(Spec):
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Environment of every model's vLLM container.",
        examples=[{"VLLM_USE_V1": "1"}],
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        0.9, description="vLLM --gpu-memory-utilization for every model.", examples=[0.9]
    )
    trust_remote_code: bool = Field(True, description="Pass --trust-remote-code to vLLM.", examples=[True])
    max_replicas: PositiveInt32 = Field(1, description="maxReplicas of every InferenceService.", examples=[1])
    resources: list[ResourceProfile] = Field(
        default_factory=list,
        description="CPU and memory of a model pod by its GPU count; a model may override them.",
        examples=[[{"gpus": 1, "requests": {"cpu": "8", "memory": "32Gi"}, "limits": {"cpu": "16", "memory": "60Gi"}}]],
    )
    callers: list[DnsLabel] = Field(
        default_factory=lambda: ["model-client"],
        description="ServiceAccounts of the serving namespace that may call every model (a Role allowing get on the "
        "InferenceService, which the authenticating proxy checks); a model may name its own.",
        examples=[["model-client"]],
    )


class Taint(Spec):
    key: LabelKey = Field(description="Taint key.", examples=["nvidia.com/gpu"])
    value: LabelValue = Field("", description="Taint value.", examples=["true"])
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        "NoSchedule", description="Taint effect.", examples=["NoSchedule"]
    )


class Cluster(Spec):
    gpu_resource: LabelKey = Field("nvidia.com/gpu", description="Extended resource name of a GPU.", examples=["nvidia.com/gpu"])
    gpu_taint: Taint = Field(
        default_factory=lambda: Taint(key="nvidia.com/gpu", value="true", effect="NoSchedule"),
        description="Taint carried by every GPU node; model pods tolerate it.",
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
    borrow_within_cohort: BorrowWithinCohort | None = Field(
        None,
        description="Whether a team that borrows may preempt lower-priority workloads of other teams that borrow too "
        "(Kueue's borrowWithinCohort); by default it may not: only a team within its nominal quota reclaims.",
    )


class BorrowWithinCohort(Spec):
    policy: Literal["Never", "LowerPriority"] = Field(
        "LowerPriority", description="Never, or LowerPriority: preempt borrowers of lower priority.", examples=["LowerPriority"]
    )
    max_priority_threshold: Int32 | None = Field(
        None, description="Only workloads at or below this priority may be preempted this way.", examples=[100]
    )


class FlavorFungibility(Spec):
    # Kueue v0.15+ stores MayStopSearch for the older Borrow and Preempt and reads it back so: the tree writes the
    # stored spelling, or Argo CD would see the ClusterQueue out of sync forever. The older spellings are accepted.
    when_can_borrow: Literal["MayStopSearch", "Borrow", "TryNextFlavor"] = Field(
        "MayStopSearch", description="flavorFungibility.whenCanBorrow: MayStopSearch (stop at the first flavor that fits by "
        "borrowing; Borrow is its older spelling, written as MayStopSearch) or TryNextFlavor.", examples=["MayStopSearch"]
    )
    when_can_preempt: Literal["MayStopSearch", "Preempt", "TryNextFlavor"] = Field(
        "TryNextFlavor", description="flavorFungibility.whenCanPreempt: TryNextFlavor, or MayStopSearch (stop at the first "
        "flavor that fits by preempting; Preempt is its older spelling, written as MayStopSearch).", examples=["TryNextFlavor"]
    )


class PriorityClass(Spec):
    name: DnsSubdomain = Field(description="WorkloadPriorityClass name, named by models[].priority.", examples=["production"])
    value: Int32 = Field(description="Priority: higher is admitted first and may preempt lower.", examples=[1000])
    description: str = Field("", description="What the class is for.", examples=["Customer-facing models"])


class CpuQuota(Spec):
    cpu: Quantity = Field(description="Nominal CPU quota of the CPU flavor.", examples=["64"])
    memory: Quantity = Field(description="Nominal memory quota of the CPU flavor.", examples=["256Gi"])


class CpuFlavor(Spec):
    name: DnsLabel = Field(
        "default-flavor",
        description="ResourceFlavor for cpu and memory, with no node labels, in its own resource group: a pod that asks "
        "for no GPU is never given a GPU flavor (and so never pinned to a GPU node).",
        examples=["default-flavor"],
    )
    quota: CpuQuota | None = Field(
        None,
        description="Nominal cpu and memory quota; by default what the GPU flavors' nodes hold (cpuPerNode and "
        "memoryPerNode times nodes).",
        examples=[{"cpu": "64", "memory": "256Gi"}],
    )


class Kueue(Spec):
    cluster_queue: DnsLabel = Field(
        "rhoai-main-queue", description="The ClusterQueue name (without teams; each team has a ClusterQueue named after it).",
        examples=["rhoai-main-queue"],
    )
    cohort: DnsLabel = Field(
        "gpuaas", description="With teams: the cohort the teams' ClusterQueues share, lending and borrowing quota; with "
        "cohorts, the root of the cohort tree.",
        examples=["gpuaas"],
    )
    fair_sharing: bool = Field(
        False,
        description="The cluster's Kueue runs with fair sharing (a cluster-wide setting of the Kueue configuration: on "
        "the Red Hat build of Kueue, the Kueue object's spec.config.preemption.preemptionPolicy FairSharing; the "
        "runbook's prerequisites check it). Unused quota then goes to the team or cohort with the lowest weighted share, "
        "and preemption evens shares out; without it, Kueue's classical preemption applies.",
        examples=[False],
    )
    local_queue: DnsLabel = Field(
        "default", description="LocalQueue in the serving namespace; model pods join it by label.", examples=["default"]
    )
    default_queue: bool = Field(
        False,
        description="Annotate the LocalQueue kueue.x-k8s.io/default-queue: every pod of the namespace without a queue "
        "label then joins it, CPU-only pods (builds, workbenches) too, and stays gated until admitted.",
        examples=[False],
    )
    cpu_flavor: CpuFlavor = Field(default_factory=CpuFlavor, description="The flavor of cpu and memory.")
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
    gpus: Annotated[int, Field(ge=0, le=1_000_000)] = Field(description="Nominal GPU quota of the flavor.", examples=[4])


class Flavor(Spec):
    name: DnsLabel = Field(
        description="ResourceFlavor name, also the dashboard HardwareProfile name.", examples=["nvidia-l4-4gpu"]
    )
    instance_type: LabelValue = Field(
        description="Node instance type, as the cloud provider labels the node (node.kubernetes.io/instance-type).",
        examples=["g6.12xlarge"],
    )
    node_labels: dict[LabelKey, LabelValue] | None = Field(
        None,
        description="Labels that select this flavor's nodes (the ResourceFlavor's nodeLabels); by default "
        "node.kubernetes.io/instance-type: <instanceType>. Use labels the nodes really carry: labels in a "
        "MachineSet's template metadata do not reach the node.",
        examples=[{"node.kubernetes.io/instance-type": "g6.12xlarge", "nvidia.com/gpu.present": "true"}],
    )
    gpus_per_node: Annotated[int, Field(gt=0, le=1024)] = Field(description="GPUs on one node of this flavor.", examples=[4])
    cpu_per_node: Quantity = Field(
        description="Allocatable CPU of one node (`oc get node -o jsonpath='{.status.allocatable.cpu}'`).", examples=["48"]
    )
    memory_per_node: Quantity = Field(
        description="Allocatable memory of one node (`oc get node -o jsonpath='{.status.allocatable.memory}'`).",
        examples=["192Gi"],
    )
    nodes: Annotated[int, Field(ge=0, le=100_000)] = Field(1, description="Nodes of this flavor (MachineSet replicas).", examples=[1])
    quota: Quota = Field(description="Nominal GPU quota of this flavor in the ClusterQueue.")


class TeamQuota(Spec):
    flavor: DnsLabel = Field(description="A flavors[] name.", examples=["nvidia-l4-4gpu"])
    gpus: Annotated[int, Field(ge=0, le=1_000_000)] = Field(description="The team's nominal GPU quota of the flavor.", examples=[4])
    borrowing_limit: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Most GPUs of the flavor the team may borrow from the cohort beyond its quota; by default no limit.",
        examples=[2],
    )
    lending_limit: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Most of its unused GPUs of the flavor the team lends to the cohort; by default all of them. "
        "The rest is kept for the team alone.", examples=[1],
    )


# Kueue's spec.fairSharing.weight: a comparative advantage when competing for unused quota (0: always last).
FairWeight = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class CohortQuota(TeamQuota):
    gpus: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        description="GPUs of the flavor the cohort itself holds, on top of its teams' quotas: a pool the teams under it "
        "share (and lend to the cohort above, within lendingLimit).", examples=[4])
    borrowing_limit: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Most GPUs of the flavor the whole subtree may borrow from the cohort above; by default no "
        "limit. Only for a cohort with a parent.", examples=[4],
    )
    lending_limit: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Most GPUs of the flavor the whole subtree (the cohort's pool and what its teams lend) lends to "
        "the cohort above; by default all it does not use. Only for a cohort with a parent.", examples=[4],
    )


class Cohort(Spec):
    name: DnsLabel = Field(description="Cohort name: an organisation or department, a Kueue Cohort object.",
                           examples=["research"])
    parent: DnsLabel | None = Field(
        None, description="The cohort above this one; by default kueue.cohort, the root of the tree. A cohort named like "
        "kueue.cohort is the root itself (it has no parent).", examples=["gpuaas"],
    )
    quota: list[CohortQuota] = Field(
        default_factory=list, description="GPU quota of the cohort itself, per flavor; by default none: the cohort only "
        "pools what its teams lend.", examples=[[{"flavor": "nvidia-l4-4gpu", "gpus": 4, "lendingLimit": 4}]],
    )
    weight: FairWeight | None = Field(
        None, description="Fair-sharing weight of the cohort among its siblings (spec.fairSharing.weight; with "
        "kueue.fairSharing); by default 1.", examples=[2],
    )


class Team(Spec):
    name: DnsLabel = Field(description="Team name, also its ClusterQueue's name.", examples=["search"])
    namespace: DnsLabel | None = Field(
        None, description="Namespace of the team's models (rendered, labelled for Kueue); by default the team's name.",
        examples=["search-models"],
    )
    quota: list[TeamQuota] = Field(
        default_factory=list,
        description="The team's nominal GPU quota per flavor. A flavor not listed has quota 0: the team only borrows it.",
        examples=[[{"flavor": "nvidia-l4-4gpu", "gpus": 4, "lendingLimit": 2}]],
    )
    cohort: DnsLabel | None = Field(
        None, description="The cohort the team's ClusterQueue belongs to: a cohorts[] name, or kueue.cohort (the "
        "default).", examples=["research"],
    )
    weight: FairWeight | None = Field(
        None, description="Fair-sharing weight of the team's ClusterQueue among its cohort's members "
        "(spec.fairSharing.weight; with kueue.fairSharing); by default 1.", examples=[2],
    )


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
    allow_patterns: list[FilePattern] | None = Field(
        None,
        description="Files of the Hugging Face repository to upload (fnmatch patterns); by default every file.",
        examples=[["*.json", "*.safetensors", "tokenizer*"]],
    )
    ignore_patterns: list[FilePattern] | None = Field(
        None,
        description="Files not to upload. By default consolidated*.safetensors when the repository also has sharded "
        "model-*.safetensors (the same weights again, in the format vLLM does not load here), and nothing else.",
        examples=[["consolidated*.safetensors", "original/*"]],
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> Weights:
        if not (self.hugging_face or self.s3_prefix or self.oci):
            raise ValueError("give at least one of huggingFace, s3Prefix or oci")
        return self


class Vllm(Spec):
    dtype: VllmDtype | None = Field(None, description="vLLM --dtype.", examples=["bfloat16"])
    max_model_len: PositiveInt32 | None = Field(
        None, description="vLLM --max-model-len (context length).", examples=[32768]
    )
    tool_call_parser: ToolCallParser | None = Field(
        None,
        description="Enables tool calling: vLLM --enable-auto-tool-choice with --tool-call-parser.",
        examples=["mistral"],
    )
    chat_template: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = Field(
        None,
        description="vLLM --chat-template: an absolute path inside the vLLM image or the model, or a URL. A bare name "
        "such as granite is read as a file path and fails.",
        examples=["/opt/app-root/template/tool_chat_template_granite.jinja"],
    )
    tensor_parallel_size: Annotated[int, Field(gt=0, le=1024)] | None = Field(
        None, description="Override of --tensor-parallel-size; by default it equals the model's GPUs.", examples=[4]
    )
    extra_args: list[VllmFlag] = Field(
        default_factory=list, description="More vLLM arguments, each as --flag or --flag=value.",
        examples=[["--enable-prefix-caching"]],
    )


class SecretKeyRef(Spec):
    secret: DnsSubdomain = Field(description="A Secret in the model's namespace (never in this repository).",
                                 examples=["vllm-api-key"])
    key: SecretKey = Field(description="The key of the value in that Secret.", examples=["token"])


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
    size_gb: Gigabytes = Field(alias="sizeGB", description="Size of the weights in GB.", examples=[48])
    precision: NonEmpty = Field(description="Precision or quantization of the weights.", examples=["bf16", "INT4 W4A16"])
    gpus: Annotated[int, Field(gt=0, le=1024)] = Field(description="GPUs of one model pod.", examples=[4])
    state: Literal["active", "queued"] = Field(
        description="active: the model runs (one replica, once Kueue admits it); queued: declared but stopped "
        "(annotation serving.kserve.io/stop: \"true\": no Deployment, no pod, no GPU).",
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
    team: DnsLabel | None = Field(
        None, description="With teams: the team that owns the model; it runs in the team's namespace and queue.",
        examples=["search"],
    )
    vllm: Vllm = Field(default_factory=Vllm, description="vLLM settings of this model.")
    resources: Resources | None = Field(
        None, description="CPU and memory of the model pod; defaults to modelDefaults.resources for its GPU count."
    )
    secret_env: dict[EnvName, SecretKeyRef] = Field(
        default_factory=dict,
        description="Environment of the model's vLLM container read from Secrets (valueFrom.secretKeyRef): the way to "
        "give vLLM an API key or a token. vLLM reads VLLM_API_KEY itself; a flag can name the variable, as in "
        "extraArgs: ['--api-key=$(VLLM_API_KEY)'], which Kubernetes expands from the container's env.",
        examples=[{"VLLM_API_KEY": {"secret": "vllm-api-key", "key": "token"}}],
    )
    annotations: dict[LabelKey, str] = Field(
        default_factory=dict,
        description="More annotations on the InferenceService (the generator's own annotations win).",
        examples=[{"opendatahub.io/connections": "minio-connection"}],
    )
    exposure: Literal["exposed", "internal"] = Field(
        "exposed",
        description="exposed: a Route outside the cluster (networking.kserve.io/visibility: exposed); internal: "
        "reachable inside the cluster only, through the predictor Service.",
        examples=["exposed"],
    )
    auth: bool = Field(
        True,
        description="Require a token of an allowed caller (security.opendatahub.io/enable-auth): OpenShift AI puts the "
        "model behind an authenticating proxy. false opens the model to anyone who reaches it (a lint warning).",
        examples=[True],
    )
    callers: list[DnsLabel] | None = Field(
        None, description="ServiceAccounts of the serving namespace that may call this model; by default "
        "modelDefaults.callers.", examples=[["team-a-app"]],
    )
    service_account_token: bool = Field(
        False,
        description="Mount the API token of the predictor's ServiceAccount (model-server, one per serving namespace) in "
        "the model's pod. vLLM calls no Kubernetes API, so by default none is mounted; with auth on, OpenShift AI mounts "
        "it all the same, for the authenticating proxy beside vLLM (it reviews each caller's token with it).",
        examples=[False],
    )
    upload_volume_size: Quantity | None = Field(
        None, description="Size of the upload scratch volume; defaults to the weights (sizeGB, in GiB) plus a fifth for "
        "headroom, rounded up to 10Gi.",
        examples=["60Gi"],
    )


# admitted: Kueue admitted the pod and a node holds it; unschedulable: admitted, but no node of the flavor has room.
AdmissionState = Literal["admitted", "unschedulable", "pending", "preempted", "off"]


class Expectation(Spec):
    state: AdmissionState = Field(description="Expected state of the model's pod.", examples=["admitted"])
    flavor: DnsLabel | None = Field(None, description="Flavor it must be admitted on.", examples=["nvidia-l4-4gpu"])


class Step(Spec):
    title: NonEmpty = Field(description="What the presenter does and says in this step.",
                            examples=["Enable Devstral-2 while the 4-GPU node is busy"])
    enable: list[DnsLabel] = Field(default_factory=list, description="Models switched on (state active).", examples=[["devstral-2"]])
    disable: list[DnsLabel] = Field(default_factory=list, description="Models switched off (state queued: stopped).", examples=[["mistral-3-bf16"]])
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
    start: list[DnsLabel] | None = Field(
        None,
        description="The models running when the scenario begins, in this order; by default the portfolio's active "
        "models. Naming them keeps the story true while a demo (or a later edit) switches models on and off.",
        examples=[["mistral-3-bf16", "mistral-3-int4"]],
    )
    steps: Annotated[list[Step], Field(min_length=1)] = Field(description="Steps from the start, in order.")


class FlavorOverride(Spec):
    nodes: Annotated[int, Field(ge=0, le=100_000)] | None = Field(None, description="Nodes of the flavor on this cluster.", examples=[1])
    gpus: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Nominal GPU quota of the flavor on this cluster.", examples=[1]
    )


class Environment(Spec):
    name: DnsLabel = Field(description="Environment name: the overlay folder and the suffix of its Application.", examples=["dev"])
    destination_server: HttpUrl = Field(
        description="API server of the environment's cluster, as registered in Argo CD.", examples=["https://api.dev.example.com:6443"]
    )
    flavors: dict[DnsLabel, FlavorOverride] = Field(
        default_factory=dict, description="Per flavor name: its nodes and quota on this cluster.",
        examples=[{"nvidia-l4-4gpu": {"nodes": 0, "gpus": 0}}],
    )
    teams: dict[DnsLabel, list[TeamQuota]] = Field(
        default_factory=dict, description="Per team name: its quota on this cluster (replacing teams[].quota).",
        examples=[{"search": [{"flavor": "nvidia-l4-1gpu", "gpus": 1}]}],
    )
    active: list[DnsLabel] | None = Field(
        None, description="The models that run on this cluster; every other model is stopped there. By default each "
        "model's state.", examples=[["mistral-3-int4"]],
    )


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
    cohorts: list[Cohort] = Field(
        default_factory=list,
        description="With teams: a tree of cohorts (organisations, departments) above the teams' ClusterQueues, each a "
        "Kueue Cohort with GPU quota of its own, lending and borrowing limits and a parent. Without cohorts the teams "
        "share the one flat cohort kueue.cohort.",
    )
    teams: list[Team] = Field(
        default_factory=list,
        description="Teams sharing the GPUs: each gets a namespace, a ClusterQueue in the cohort kueue.cohort with its "
        "own quota, and a LocalQueue; every model then names its team. Without teams every model runs in `namespace`.",
    )
    models: Annotated[list[Model], Field(min_length=1)] = Field(description="The model portfolio.")
    scenarios: list[Scenario] = Field(
        default_factory=list, description="Demo scenarios: steps from the baseline and the admission they must produce."
    )
    environments: list[Environment] = Field(
        default_factory=list,
        description="Clusters the portfolio is deployed to, each a kustomize overlay of the base with its own nodes, quota "
        "and running models, and an Argo CD Application of its own. Without environments the base is deployed to "
        "gitops.destinationServer.",
    )



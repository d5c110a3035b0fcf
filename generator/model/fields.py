"""Field types of the portfolio: patterns with their plain-words help, and the value sets vLLM knows."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from generator.model.quantity import QUANTITY_PATTERN, canonical_quantity

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

LABEL_KEY = r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
# scheme://host[:port][/path]: no user info, query, fragment, quotes or shell characters.
HTTP_URL = r"^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[-A-Za-z0-9._~%/]*)?$"
GIT_URL = r"^(https?://|ssh://|git@)[-A-Za-z0-9._~%/:@+]+$"
# An image reference pinned by digest: a floating tag runs different code on every pull.
PINNED_IMAGE = r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$"
OCI_IMAGE = r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$"
HF_REPO = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
S3_PREFIX = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
VLLM_FLAG = r"^--[a-z0-9][a-z0-9-]*(=.*)?$"
# A label value: empty, or alphanumerics with '-', '_' and '.' inside; at most 63 characters.
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# A key of a Secret's data.
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
# A file pattern of the Hugging Face hub (fnmatch): no path escapes, no spaces at the ends.
FILE_PATTERN = r"^[^\s/][^\n]*[^\s]$|^[^\s/]$"

# What each pattern allows, in words: the loader quotes it when a value does not match.
PATTERN_HELP = {
    DNS1123_LABEL: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
                   "or digit, at most 63 characters",
    DNS1123_SUBDOMAIN: "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'",
    LABEL_KEY: "must be a Kubernetes label or annotation key such as example.com/name",
    HTTP_URL: "must be an http:// or https:// URL: host, optional port and path (letters, digits, '-', '.', '_', '~', "
              "'%', '/')",
    GIT_URL: "must be a Git URL (https://, ssh:// or git@)",
    PINNED_IMAGE: "must be an image pinned by digest (registry/repository@sha256:<64 hex>); floating tags are refused",
    OCI_IMAGE: "must be an image reference registry/repository[:tag][@sha256:digest], without oci://",
    HF_REPO: "must be a Hugging Face repository id owner/name",
    S3_PREFIX: "must be a bucket prefix of lower-case segments separated by '/', without s3:// or a trailing '/'",
    ENV_NAME: "must be an environment variable name (letters, digits, '_')",
    VLLM_FLAG: "must be one vLLM argument written --flag or --flag=value",
    LABEL_VALUE: "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending "
                 "with a letter or digit",
    SECRET_KEY: "must be a Secret key: letters, digits, '-', '_' and '.'",
    FILE_PATTERN: "must be a file pattern relative to the repository root, such as *.safetensors",
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
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=True)]
HttpUrl = Annotated[str, StringConstraints(pattern=HTTP_URL)]
GitRepoUrl = Annotated[str, StringConstraints(pattern=GIT_URL)]
PinnedImage = Annotated[str, StringConstraints(pattern=PINNED_IMAGE)]
OciImage = Annotated[str, StringConstraints(pattern=OCI_IMAGE)]
HuggingFaceRepo = Annotated[str, StringConstraints(pattern=HF_REPO)]
S3Prefix = Annotated[str, StringConstraints(pattern=S3_PREFIX)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME)]
VllmFlag = Annotated[str, StringConstraints(pattern=VLLM_FLAG)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]

# Numbers as the Kubernetes fields they become hold them: int32 or int64, finite floats within reason.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
PositiveInt32 = Annotated[int, Field(gt=0, le=INT32_MAX)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
PositiveInt64 = Annotated[int, Field(gt=0, le=INT64_MAX)]
# Gigabytes of weights: finite, positive, at most a petabyte.
Gigabytes = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
SecretKey = Annotated[str, StringConstraints(pattern=SECRET_KEY, max_length=253)]
FilePattern = Annotated[str, StringConstraints(pattern=FILE_PATTERN, max_length=255)]

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



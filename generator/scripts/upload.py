"""Copy the files vLLM loads from one Hugging Face repository into S3, once.

Run by every model-upload Job (the generator mounts this file from a ConfigMap). Settings come
from the environment; credentials come from Secrets. The object `<prefix>/.upload-complete` is
written last, so a Job that finds it has nothing to do and a Job that died half-way starts again.
Needs only what the Job image already ships: huggingface_hub and boto3.

Which files: HF_ALLOW_PATTERNS and HF_IGNORE_PATTERNS (JSON lists of fnmatch patterns) when set;
without HF_IGNORE_PATTERNS, consolidated*.safetensors is left out when the repository also has
sharded model-*.safetensors (Mistral repositories carry both: the same weights twice).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import sys
from pathlib import Path, PurePosixPath

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from huggingface_hub import HfApi, snapshot_download

MARKER = ".upload-complete"
SHARDED = re.compile(r"^model-\d+-of-\d+\.safetensors$")


def object_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def patterns(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return None if value is None else [str(p) for p in json.loads(value)]


def select(files: list[str], allow: list[str] | None, ignore: list[str] | None) -> list[str]:
    """The repository files to copy, in order."""
    chosen = [f for f in files if allow is None or any(fnmatch.fnmatch(f, p) for p in allow)]
    if ignore is None:
        names = {PurePosixPath(f).name for f in chosen}
        if any(SHARDED.match(n) for n in names):
            ignore = ["consolidated*.safetensors"]
    return [f for f in chosen if not any(fnmatch.fnmatch(f, p) or fnmatch.fnmatch(PurePosixPath(f).name, p)
                                         for p in ignore or [])]


def literal(name: str) -> str:
    """A file name as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB"


def main() -> int:
    repo = os.environ["HF_REPO"]
    bucket = os.environ["S3_BUCKET"]
    prefix = os.environ["S3_PREFIX"].strip("/")
    work_dir = Path(os.environ.get("WORK_DIR", "/data/weights"))
    token = os.environ.get("HF_TOKEN") or None
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(signature_version="s3v4", retries={"max_attempts": 10, "mode": "standard"}),
    )
    marker = f"{prefix}/{MARKER}"
    if object_exists(s3, bucket, marker):
        print(f"s3://{bucket}/{prefix}/ is complete; nothing to do", flush=True)
        return 0
    info = HfApi().model_info(repo, files_metadata=True, token=token)
    sizes = {s.rfilename: int(s.size or 0) for s in info.siblings}
    files = select(sorted(sizes), patterns("HF_ALLOW_PATTERNS"), patterns("HF_IGNORE_PATTERNS"))
    if not files:
        print(f"no file of {repo} matches the allow and ignore patterns", file=sys.stderr, flush=True)
        return 1
    needed = sum(sizes[f] for f in files)
    work_dir.mkdir(parents=True, exist_ok=True)
    present = sum((work_dir / f).stat().st_size for f in files if (work_dir / f).is_file())
    free = shutil.disk_usage(work_dir).free
    if needed - present > free:
        print(f"{repo}: the selected files need {gigabytes(needed - present)} more, the volume has {gigabytes(free)} "
              "free; raise the model's uploadVolumeSize in portfolio.yaml", file=sys.stderr, flush=True)
        return 1
    skipped = len(sizes) - len(files)
    print(f"downloading {len(files)} files ({gigabytes(needed)}) of {repo} to {work_dir}; {skipped} left out", flush=True)
    snapshot_download(repo_id=repo, local_dir=str(work_dir), allow_patterns=[literal(f) for f in files], token=token)
    for index, name in enumerate(files, start=1):
        key = f"{prefix}/{name}"
        print(f"[{index}/{len(files)}] s3://{bucket}/{key}", flush=True)
        s3.upload_file(str(work_dir / name), bucket, key)
    s3.put_object(Bucket=bucket, Key=marker, Body=f"{repo}\n".encode())
    print(f"s3://{bucket}/{prefix}/ complete: {len(files)} files", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

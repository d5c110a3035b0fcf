"""Copy one Hugging Face repository into S3, once.

Run by every model-upload Job (the generator mounts this file from a ConfigMap). Settings come
from the environment; credentials come from Secrets. The object `<prefix>/.upload-complete` is
written last, so a Job that finds it has nothing to do and a Job that died half-way starts again.
Needs only what the Job image already ships: huggingface_hub and boto3.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from huggingface_hub import snapshot_download

MARKER = ".upload-complete"


def object_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def main() -> int:
    repo = os.environ["HF_REPO"]
    bucket = os.environ["S3_BUCKET"]
    prefix = os.environ["S3_PREFIX"].strip("/")
    work_dir = Path(os.environ.get("WORK_DIR", "/data/weights"))
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
    print(f"downloading {repo} to {work_dir}", flush=True)
    snapshot_download(repo_id=repo, local_dir=str(work_dir), token=os.environ.get("HF_TOKEN") or None)
    files = sorted(p for p in work_dir.rglob("*") if p.is_file() and ".cache" not in p.relative_to(work_dir).parts)
    for index, path in enumerate(files, start=1):
        key = f"{prefix}/{path.relative_to(work_dir).as_posix()}"
        print(f"[{index}/{len(files)}] s3://{bucket}/{key}", flush=True)
        s3.upload_file(str(path), bucket, key)
    s3.put_object(Bucket=bucket, Key=marker, Body=f"{repo}\n".encode())
    print(f"s3://{bucket}/{prefix}/ complete: {len(files)} files", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

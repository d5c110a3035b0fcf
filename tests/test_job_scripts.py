"""The Job scripts do what the manifests promise: idempotent upload and registration.

register.py runs against a fake Model Registry on loopback; upload.py runs with stand-in
boto3 / huggingface_hub modules that keep the fake bucket in a folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import render_named
from generator.render.scripts import script

API = "/api/model_registry/v1alpha3"


class FakeRegistry:
    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.versions: list[dict[str, Any]] = []
        self.artifacts: dict[str, list[dict[str, Any]]] = {}
        self.posts: list[str] = []
        self.next_id = 1

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = url.path.removeprefix(API)
            if path == "/registered_model":
                found = registry.models.get(query["name"])
                return self._send(200, found) if found else self._send(404, {"code": "not found"})
            if path == "/model_version":
                for version in registry.versions:
                    if version["name"] == query["name"] and version["registeredModelId"] == query["parentResourceId"]:
                        return self._send(200, version)
                return self._send(404, {"code": "not found"})
            if path.startswith("/model_versions/") and path.endswith("/artifacts"):
                items = registry.artifacts.get(path.split("/")[2], [])
                start = int(query.get("nextPageToken", "0"))  # one item per page, to exercise paging
                page = items[start:start + 1]
                token = str(start + 1) if start + 1 < len(items) else ""
                return self._send(200, {"items": page, "size": len(page), "nextPageToken": token})
            return self._send(404, {"code": "no route"})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            path = urlparse(self.path).path.removeprefix(API)
            registry.posts.append(path)
            body["id"] = registry.new_id()
            if path == "/registered_models":
                registry.models[body["name"]] = body
            elif path == "/model_versions":
                registry.versions.append(body)
            else:
                registry.artifacts.setdefault(path.split("/")[2], []).append(body)
            self._send(201, body)

    return Handler


@pytest.fixture
def fake_registry():
    registry = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield registry, f"http://127.0.0.1:{server.server_address[1]}{API}"
    server.shutdown()
    server.server_close()


def _registration_files(tmp_path: Path) -> Path:
    tree = render_named("default")
    [config] = tree["gitops/step-05-llm-on-vllm/base/model-registration/registration-config.yaml"]
    for name, text in config["data"].items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _run(script_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script_path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, check=False)


def test_registration_creates_each_object_once(tmp_path: Path, fake_registry) -> None:
    registry, url = fake_registry
    folder = _registration_files(tmp_path)
    env = {"REGISTRY_URL": url, "MODELS_FILE": str(folder / "models.json")}
    first = _run(folder / "register.py", env)
    assert first.returncode == 0, first.stderr
    assert sorted(registry.models) == ["devstral-2", "gpt-oss-20b", "granite-8b-agent", "mistral-3-bf16", "mistral-3-int4"]
    assert len(registry.posts) == 15
    uris = {a["name"]: a["uri"] for items in registry.artifacts.values() for a in items}
    assert uris["mistral-3-int4"].startswith("oci://registry.redhat.io/")
    assert uris["devstral-2"] == "s3://models/mistral-small-24b/"
    props = registry.models["granite-8b-agent"]["customProperties"]
    assert props["context_length"] == {"metadataType": "MetadataStringValue", "string_value": "16384"}
    second = _run(folder / "register.py", env)
    assert second.returncode == 0, second.stderr
    assert len(registry.posts) == 15
    assert second.stdout.count("already registered") == 5


def test_registration_matches_artifacts_by_exact_name_across_pages(tmp_path: Path, fake_registry) -> None:
    registry, url = fake_registry
    folder = _registration_files(tmp_path)
    env = {"REGISTRY_URL": url, "MODELS_FILE": str(folder / "models.json")}
    assert _run(folder / "register.py", env).returncode == 0
    version_id = next(v["id"] for v in registry.versions if registry.models["gpt-oss-20b"]["id"] == v["registeredModelId"])
    # A look-alike first on the page must not count as the artifact.
    registry.artifacts[version_id].insert(0, {"name": "gpt-oss-20b-old", "uri": "s3://models/old/", "id": "99"})
    registry.artifacts[version_id] = [a for a in registry.artifacts[version_id] if a["name"] != "gpt-oss-20b"]
    before = len(registry.posts)
    assert _run(folder / "register.py", env).returncode == 0
    assert registry.posts[before:] == [f"/model_versions/{version_id}/artifacts"]


STUBS = {
    "boto3/__init__.py": """
        import json, os, pathlib
        BUCKET = pathlib.Path(os.environ["FAKE_S3_DIR"])
        LOG = BUCKET.parent / "s3.log"
        class _Client:
            def head_object(self, Bucket, Key):
                from botocore.exceptions import ClientError
                if not (BUCKET / Bucket / Key).exists():
                    raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
            def upload_file(self, path, bucket, key):
                self._put(bucket, key, pathlib.Path(path).read_bytes())
            def put_object(self, Bucket, Key, Body):
                self._put(Bucket, Key, Body)
            def _put(self, bucket, key, data):
                target = BUCKET / bucket / key
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                with LOG.open("a") as log:
                    log.write(key + "\\n")
        def client(*args, **kwargs):
            return _Client()
    """,
    "botocore/__init__.py": "",
    "botocore/config.py": """
        class Config:
            def __init__(self, **kwargs):
                self.kwargs = kwargs
    """,
    "botocore/exceptions.py": """
        class ClientError(Exception):
            def __init__(self, response, operation):
                super().__init__(operation)
                self.response = response
    """,
    # A fake hub: the repository's files and sizes come from FAKE_HUB_FILES (JSON {name: bytes}).
    "huggingface_hub/__init__.py": """
        import fnmatch, json, os, pathlib
        FILES = json.loads(os.environ["FAKE_HUB_FILES"])
        class _Sibling:
            def __init__(self, name, size):
                self.rfilename, self.size = name, size
        class _Info:
            def __init__(self):
                self.siblings = [_Sibling(n, s) for n, s in FILES.items()]
        class HfApi:
            def model_info(self, repo_id, files_metadata=False, token=None):
                assert files_metadata
                return _Info()
        def snapshot_download(repo_id, local_dir, allow_patterns=None, token=None):
            root = pathlib.Path(local_dir)
            (root / ".cache").mkdir(parents=True, exist_ok=True)
            (root / ".cache" / "lock").write_text("x")
            for name, size in FILES.items():
                if allow_patterns is None or any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                    target = root / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(b"\\0" * size)
                    with open(os.environ["FAKE_DOWNLOAD_LOG"], "a") as log:
                        log.write(name + "\\n")
            return str(root)
    """,
}

MISTRAL_FILES = {"config.json": 10, "consolidated.safetensors": 64, "model-00001-of-00002.safetensors": 32,
                 "model-00002-of-00002.safetensors": 32, "params.json": 5, "tokenizer.json": 20}


def _upload_env(tmp_path: Path, files: dict[str, int], **more: str) -> dict[str, str]:
    stubs = tmp_path / "stubs"
    for name, text in STUBS.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text(textwrap.dedent(text))
    (tmp_path / "upload.py").write_text(script("upload.py"))
    return {
        "PYTHONPATH": str(stubs), "FAKE_S3_DIR": str(tmp_path / "s3"), "FAKE_DOWNLOAD_LOG": str(tmp_path / "downloads.log"),
        "FAKE_HUB_FILES": json.dumps(files), "HF_REPO": "Org/Model", "S3_ENDPOINT": "http://s3.invalid",
        "S3_BUCKET": "models", "S3_PREFIX": "model-x", "WORK_DIR": str(tmp_path / "work"), **more,
    }


def _uploaded(tmp_path: Path) -> list[str]:
    return (tmp_path / "s3.log").read_text().splitlines()


def test_upload_skips_consolidated_weights_where_shards_exist(tmp_path: Path) -> None:
    result = _run(tmp_path / "upload.py", _upload_env(tmp_path, MISTRAL_FILES))
    assert result.returncode == 0, result.stderr
    assert _uploaded(tmp_path) == ["model-x/config.json", "model-x/model-00001-of-00002.safetensors",
                                   "model-x/model-00002-of-00002.safetensors", "model-x/params.json",
                                   "model-x/tokenizer.json", "model-x/.upload-complete"]
    assert "consolidated.safetensors" not in (tmp_path / "downloads.log").read_text()
    assert "5 files (0.0 GB) of Org/Model" in result.stdout and "1 left out" in result.stdout


def test_upload_keeps_consolidated_weights_when_they_are_the_only_ones(tmp_path: Path) -> None:
    files = {"config.json": 10, "consolidated.safetensors": 64}
    assert _run(tmp_path / "upload.py", _upload_env(tmp_path, files)).returncode == 0
    assert "model-x/consolidated.safetensors" in _uploaded(tmp_path)


def test_upload_follows_the_portfolio_patterns(tmp_path: Path) -> None:
    env = _upload_env(tmp_path, MISTRAL_FILES, HF_ALLOW_PATTERNS='["*.json", "*.safetensors"]',
                      HF_IGNORE_PATTERNS='["model-*"]')
    assert _run(tmp_path / "upload.py", env).returncode == 0
    assert _uploaded(tmp_path) == ["model-x/config.json", "model-x/consolidated.safetensors", "model-x/params.json",
                                   "model-x/tokenizer.json", "model-x/.upload-complete"]


def test_upload_refuses_to_start_without_room_on_the_volume(tmp_path: Path) -> None:
    result = _run(tmp_path / "upload.py", _upload_env(tmp_path, {"config.json": 10, "model.safetensors": 10**18}))
    assert result.returncode == 1
    assert "raise the model's uploadVolumeSize" in result.stderr
    assert not (tmp_path / "downloads.log").exists() and not (tmp_path / "s3.log").exists()


def test_upload_copies_once_and_writes_the_marker_last(tmp_path: Path) -> None:
    env = _upload_env(tmp_path, {"config.json": 10, "weights/model.safetensors": 16})
    first = _run(tmp_path / "upload.py", env)
    assert first.returncode == 0, first.stderr
    assert _uploaded(tmp_path) == ["model-x/config.json", "model-x/weights/model.safetensors", "model-x/.upload-complete"]
    second = _run(tmp_path / "upload.py", env)
    assert second.returncode == 0 and "nothing to do" in second.stdout
    assert (tmp_path / "downloads.log").read_text().splitlines() == ["config.json", "weights/model.safetensors"]

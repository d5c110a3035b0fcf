"""Register every model of the portfolio in the Model Registry, idempotently.

Run by the model-registration Job; the generator mounts this file and `models.json` from a
ConfigMap. Each object is looked up by its exact name through the API before it is created, and
every answer is parsed as JSON. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ["REGISTRY_URL"].rstrip("/")
MODELS_FILE = os.environ.get("MODELS_FILE", "/opt/registration/models.json")
TIMEOUT = 30


def call(method: str, path: str, body: dict | None = None) -> dict | None:
    """JSON in, JSON out; None for 404 (not found)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        BASE + path, data=data, method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404 and method == "GET":
            return None
        raise SystemExit(f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')}") from error


def query(path: str, **params: str) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}"


def find_artifact(version_id: str, name: str) -> dict | None:
    token = ""
    while True:
        params = {"pageSize": "100"}
        if token:
            params["nextPageToken"] = token
        page = call("GET", query(f"/model_versions/{version_id}/artifacts", **params)) or {}
        for item in page.get("items") or []:
            if item.get("name") == name:
                return item
        token = page.get("nextPageToken") or ""
        if not token:
            return None


def properties(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {key: {"metadataType": "MetadataStringValue", "string_value": value} for key, value in values.items()}


def register(model: dict) -> None:
    name = model["name"]
    registered = call("GET", query("/registered_model", name=name))
    if registered is None:
        registered = call("POST", "/registered_models", {
            "name": name, "description": model["description"], "owner": model["owner"],
            "customProperties": properties(model["properties"]),
        })
        print(f"{name}: registered model {registered['id']} created", flush=True)
    version_name = model["version"]
    version = call("GET", query("/model_version", name=version_name, parentResourceId=registered["id"]))
    if version is None:
        version = call("POST", "/model_versions", {
            "name": version_name, "author": model["owner"], "registeredModelId": registered["id"],
            "customProperties": properties(model["properties"]),
        })
        print(f"{name}: version {version_name} created", flush=True)
    artifact = find_artifact(version["id"], name)
    if artifact is None:
        call("POST", f"/model_versions/{version['id']}/artifacts", {
            "name": name, "uri": model["uri"], "artifactType": "model-artifact",
            "modelFormatName": "vLLM", "customProperties": properties(model["properties"]),
        })
        print(f"{name}: artifact {model['uri']} created", flush=True)
    elif artifact.get("uri") != model["uri"]:
        print(f"{name}: artifact exists with uri {artifact.get('uri')}, portfolio says {model['uri']}", flush=True)
    else:
        print(f"{name}: already registered", flush=True)


def main() -> int:
    with open(MODELS_FILE, encoding="utf-8") as handle:
        models = json.load(handle)
    for model in models:
        register(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
